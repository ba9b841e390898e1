//! KY's state rules (KY-6..KY-9) as one decision over what KY holds: a message either changes
//! KY's state (the [`Change`]s to write) or is refused with the one [`Problem`] naming the
//! rule. Pure but for the [`State`] it reads, so the same function runs inside the writer's
//! transaction (`store`) and over a map in the tests below.

use sim_wire::ky::{ky_code, Handling, KyBody, KyPayload};
use sim_wire::rules::code;
use sim_wire::{Cpr, Cvr, Dato, Problem, Rule, Uuid};

/// A contact course's status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Running: takes changes and new objects.
    Aktiv,
    /// Stopped: takes nothing but a resume (KY-9).
    Stoppet,
}

impl Status {
    /// The stored text.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Aktiv => "AKTIV",
            Status::Stoppet => "STOPPET",
        }
    }

    /// Reads the stored text (anything else is a stopped course: it takes nothing new).
    pub fn parse(s: &str) -> Status {
        if s == "AKTIV" {
            Status::Aktiv
        } else {
            Status::Stoppet
        }
    }
}

/// A contact course as KY holds it, keyed by (municipality, KontaktforloebID).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Course {
    /// The citizen: a message about another person does not see the course (KY-6).
    pub cpr: Cpr,
    /// Running or stopped.
    pub status: Status,
    /// The current target group.
    pub maalgruppe: String,
    /// First day.
    pub start: Dato,
    /// Last day, when stopped.
    pub slut: Option<Dato>,
    /// The assessment group, once created (one per course, KY-7).
    pub visitationsgruppe: Option<String>,
    /// From when it applies.
    pub visitation_fra: Option<Dato>,
}

/// The kinds of object a course holds, keyed by (municipality, kind, the jobcenter's id).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    /// A statement.
    Tilkendegivelse,
    /// An activity.
    Aktivitet,
    /// An allowance.
    Godtgoerelse,
    /// An absence.
    Fravaer,
    /// A sanction request.
    Sanktion,
}

impl Kind {
    /// The stored text.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Tilkendegivelse => "TILKENDEGIVELSE",
            Kind::Aktivitet => "AKTIVITET",
            Kind::Godtgoerelse => "GODTGOERELSE",
            Kind::Fravaer => "FRAVAER",
            Kind::Sanktion => "SANKTION",
        }
    }

    /// The element naming its id, for refusals' paths.
    fn id_element(self) -> &'static str {
        match self {
            Kind::Tilkendegivelse => "TilkendegivelseID",
            Kind::Aktivitet => "AktivitetID",
            Kind::Godtgoerelse => "GodtgoerelseID",
            Kind::Fravaer => "FravaerID",
            Kind::Sanktion => "SanktionID",
        }
    }
}

/// An object in a course.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Object {
    /// The course it belongs to.
    pub course: Uuid,
    /// `true` when stopped (activities): nothing but a delete changes it (KY-9).
    pub stopped: bool,
    /// What KY knows of it, as JSON, for people reading KY's state.
    pub detail: String,
}

/// What a decision reads: the course and objects of one municipality.
pub trait State {
    /// The course `id` in municipality `m`, whoever it is about.
    fn course(&self, m: &Cvr, id: &Uuid) -> rusqlite::Result<Option<Course>>;
    /// The object `kind`/`id` in municipality `m`.
    fn object(&self, m: &Cvr, kind: Kind, id: &Uuid) -> rusqlite::Result<Option<Object>>;
}

/// One write a decision asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// Insert or replace the course.
    Course(Uuid, Course),
    /// Insert or replace an object.
    Object(Kind, Uuid, Object),
    /// Remove an object (an activity deleted: it is gone, KY-8).
    Delete(Kind, Uuid),
}

fn refuse(rule: Rule, code: &'static str, path: String, text: String) -> Problem {
    Problem::error(rule, code, path, text)
}

/// Decides `p`, received in municipality `m` (the security context's, which KY-5 made equal
/// to the header's): the changes to write, or the refusal (FEJL) naming its rule.
pub fn decide(
    state: &impl State,
    m: &Cvr,
    p: &KyPayload,
) -> rusqlite::Result<Result<Vec<Change>, Problem>> {
    let op = p.body.operation();
    let pe = op.payload_element();
    let kf = p.kontaktforloeb_id;
    let h = p.handling;
    let stored = state.course(m, &kf)?;
    let detail = |v: serde_json::Value| v.to_string();

    // The OPRET of a course is the one message that needs no course.
    if let KyBody::Kontaktforloeb(k) = &p.body {
        if h == Handling::Opret {
            if stored.is_some() {
                return Ok(Err(refuse(
                    Rule::Ky7,
                    ky_code::FINDES,
                    format!("{pe}/KontaktforloebID"),
                    format!("contact course {kf} exists already in municipality {m}"),
                )));
            }
            let (Some(maalgruppe), Some(start)) = (k.maalgruppe.clone(), k.start_dato) else {
                // KY-3 was checked before; a message without them never reaches here.
                return Ok(Err(refuse(
                    Rule::Ky3,
                    code::MANGLER,
                    pe.to_string(),
                    "Maalgruppe and StartDato are required with OPRET".into(),
                )));
            };
            return Ok(Ok(vec![Change::Course(
                kf,
                Course {
                    cpr: p.header.person_cpr,
                    status: Status::Aktiv,
                    maalgruppe,
                    start,
                    slut: k.slut_dato,
                    visitationsgruppe: None,
                    visitation_fra: None,
                },
            )]));
        }
    }

    // KY-6: everything else names a course of this person in this municipality; another
    // municipality's or person's looks exactly like none.
    let Some(mut course) = stored.filter(|c| c.cpr == p.header.person_cpr) else {
        return Ok(Err(refuse(
            Rule::Ky6,
            code::UKENDT,
            format!("{pe}/KontaktforloebID"),
            format!(
                "KY knows no contact course {kf} for this person in municipality {m}; create it with SendKontaktforloeb OPRET first"
            ),
        )));
    };

    // KY-9: a stopped course takes a resume and nothing else; a running one no resume.
    match (course.status, &p.body, h) {
        (Status::Stoppet, KyBody::Kontaktforloeb(_), Handling::Genoptag) => {}
        (Status::Stoppet, _, _) => {
            return Ok(Err(refuse(
                Rule::Ky9,
                ky_code::STOPPET,
                format!("{pe}/KontaktforloebID"),
                format!(
                    "contact course {kf} is stopped: resume it (GENOPTAG) before {} {h}",
                    op.name()
                ),
            )))
        }
        (Status::Aktiv, KyBody::Kontaktforloeb(_), Handling::Genoptag) => {
            return Ok(Err(refuse(
                Rule::Ky9,
                ky_code::IKKE_STOPPET,
                format!("{pe}/Handling"),
                format!("contact course {kf} is not stopped; there is nothing to resume"),
            )))
        }
        _ => {}
    }

    // The objects a message creates must not exist (KY-7); those it changes or names must
    // (KY-8), in this course; a stopped activity takes nothing but a delete (KY-9).
    let exists = |kind: Kind, id: Uuid| -> rusqlite::Result<Option<Problem>> {
        Ok(state.object(m, kind, &id)?.map(|_| {
            refuse(
                Rule::Ky7,
                ky_code::FINDES,
                format!("{pe}/{}", kind.id_element()),
                format!("{} {id} exists already", kind.id_element()),
            )
        }))
    };
    let known = |kind: Kind, id: Uuid| -> rusqlite::Result<Result<Object, Problem>> {
        Ok(state
            .object(m, kind, &id)?
            .filter(|o| o.course == kf)
            .ok_or_else(|| {
                refuse(
                    Rule::Ky8,
                    code::UKENDT,
                    format!("{pe}/{}", kind.id_element()),
                    format!(
                        "KY holds no {} {id} in contact course {kf}",
                        kind.id_element()
                    ),
                )
            }))
    };
    macro_rules! check {
        ($e:expr) => {
            if let Some(problem) = $e {
                return Ok(Err(problem));
            }
        };
    }
    macro_rules! need {
        ($e:expr) => {
            match $e {
                Ok(v) => v,
                Err(problem) => return Ok(Err(problem)),
            }
        };
    }

    let obj = |stopped: bool, v: serde_json::Value| Object {
        course: kf,
        stopped,
        detail: detail(v),
    };
    let changes = match &p.body {
        KyBody::Kontaktforloeb(k) => {
            match h {
                Handling::Aendr => {
                    if let Some(mg) = &k.maalgruppe {
                        course.maalgruppe.clone_from(mg);
                    }
                    if let Some(s) = k.start_dato {
                        course.start = s;
                    }
                }
                Handling::Stop => {
                    course.status = Status::Stoppet;
                    course.slut = k.slut_dato;
                }
                _ => {
                    course.status = Status::Aktiv;
                    course.slut = None;
                }
            }
            vec![Change::Course(kf, course)]
        }
        KyBody::Visitationsgruppe(v) => {
            match (h, &course.visitationsgruppe) {
                (Handling::Opret, Some(g)) => check!(Some(refuse(
                    Rule::Ky7,
                    ky_code::FINDES,
                    format!("{pe}/VisitationsgruppeKode"),
                    format!("contact course {kf} has its Visitationsgruppe ({g}) already; change it with AENDR"),
                ))),
                (Handling::Aendr, None) => check!(Some(refuse(
                    Rule::Ky8,
                    code::UKENDT,
                    format!("{pe}/VisitationsgruppeKode"),
                    format!("contact course {kf} has no Visitationsgruppe to change; create it with OPRET"),
                ))),
                _ => {}
            }
            course.visitationsgruppe = Some(v.visitationsgruppe_kode.clone());
            course.visitation_fra = Some(v.gyldig_fra_dato);
            vec![Change::Course(kf, course)]
        }
        KyBody::Tilkendegivelse(t) => {
            let id = t.tilkendegivelse_id;
            if h == Handling::Opret {
                check!(exists(Kind::Tilkendegivelse, id)?);
            } else {
                need!(known(Kind::Tilkendegivelse, id)?);
            }
            let v = serde_json::json!({"kode": t.tilkendegivelse_kode, "dato": t.dato.to_string()});
            vec![Change::Object(Kind::Tilkendegivelse, id, obj(false, v))]
        }
        KyBody::Aktivitet(a) => {
            let id = a.aktivitet_id;
            let before = if h == Handling::Opret {
                check!(exists(Kind::Aktivitet, id)?);
                for l in &a.godtgoerelser {
                    check!(exists(Kind::Godtgoerelse, l.godtgoerelse_id)?);
                }
                None
            } else {
                Some(need!(known(Kind::Aktivitet, id)?))
            };
            if h != Handling::Slet && before.as_ref().is_some_and(|b| b.stopped) {
                check!(Some(refuse(
                    Rule::Ky9,
                    ky_code::STOPPET,
                    format!("{pe}/AktivitetID"),
                    format!("activity {id} is stopped: it can only be deleted (SLET)"),
                )));
            }
            if h == Handling::Slet {
                vec![Change::Delete(Kind::Aktivitet, id)]
            } else {
                let mut v: serde_json::Value = before
                    .and_then(|b| serde_json::from_str(&b.detail).ok())
                    .unwrap_or_else(|| serde_json::json!({}));
                if let Some(t) = &a.tilbudstype {
                    v["tilbudstype"] = t.clone().into();
                }
                if let Some(s) = a.start_dato {
                    v["start"] = s.to_string().into();
                }
                if let Some(e) = a.slut_dato {
                    v["slut"] = e.to_string().into();
                }
                let mut out = vec![Change::Object(
                    Kind::Aktivitet,
                    id,
                    obj(h == Handling::Stop, v),
                )];
                for l in &a.godtgoerelser {
                    out.push(Change::Object(
                        Kind::Godtgoerelse,
                        l.godtgoerelse_id,
                        obj(false, linje(l, Some(id))),
                    ));
                }
                out
            }
        }
        KyBody::Godtgoerelse(g) => {
            if let Some(a) = g.aktivitet_id {
                need!(known(Kind::Aktivitet, a)?);
            }
            check!(exists(Kind::Godtgoerelse, g.linje.godtgoerelse_id)?);
            vec![Change::Object(
                Kind::Godtgoerelse,
                g.linje.godtgoerelse_id,
                obj(false, linje(&g.linje, g.aktivitet_id)),
            )]
        }
        KyBody::Fravaer(f) => {
            if let Some(a) = f.aktivitet_id {
                need!(known(Kind::Aktivitet, a)?);
            }
            check!(exists(Kind::Fravaer, f.fravaer_id)?);
            let v = serde_json::json!({
                "aktivitet": f.aktivitet_id.map(|a| a.to_string()),
                "fra": f.fra_dato.to_string(),
                "til": f.til_dato.to_string(),
                "uberettiget": f.uberettiget,
            });
            vec![Change::Object(Kind::Fravaer, f.fravaer_id, obj(false, v))]
        }
        KyBody::Sanktionsanmodning(s) => {
            check!(exists(Kind::Sanktion, s.sanktion_id)?);
            let v = serde_json::json!({"aarsag": s.sanktion_aarsag, "dato": s.haendelse_dato.to_string()});
            vec![Change::Object(Kind::Sanktion, s.sanktion_id, obj(false, v))]
        }
        KyBody::Maalgruppeskift(s) => {
            course.maalgruppe.clone_from(&s.maalgruppe);
            vec![Change::Course(kf, course)]
        }
    };
    Ok(Ok(changes))
}

fn linje(l: &sim_wire::ky::GodtgoerelseLinje, aktivitet: Option<Uuid>) -> serde_json::Value {
    serde_json::json!({
        "aktivitet": aktivitet.map(|a| a.to_string()),
        "paragraf": l.paragraf,
        "beloeb": l.beloeb.to_string(),
        "dato": l.dato.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use sim_wire::ky::{examples, KyOperation};
    use std::cell::RefCell;
    use std::collections::BTreeMap;

    /// KY's state in memory, changed by what `decide` asks for.
    #[derive(Default)]
    struct Map {
        courses: RefCell<BTreeMap<(String, Uuid), Course>>,
        objects: RefCell<BTreeMap<(String, Kind, Uuid), Object>>,
    }

    impl State for Map {
        fn course(&self, m: &Cvr, id: &Uuid) -> rusqlite::Result<Option<Course>> {
            Ok(self.courses.borrow().get(&(m.to_string(), *id)).cloned())
        }
        fn object(&self, m: &Cvr, kind: Kind, id: &Uuid) -> rusqlite::Result<Option<Object>> {
            Ok(self
                .objects
                .borrow()
                .get(&(m.to_string(), kind, *id))
                .cloned())
        }
    }

    impl Map {
        /// Decides and applies; the FejlKode when refused.
        fn send(&self, m: &str, p: &KyPayload) -> Result<(), String> {
            let m: Cvr = m.parse().unwrap();
            match decide(self, &m, p).unwrap() {
                Ok(changes) => {
                    for c in changes {
                        match c {
                            Change::Course(id, c) => {
                                self.courses.borrow_mut().insert((m.to_string(), id), c);
                            }
                            Change::Object(k, id, o) => {
                                self.objects.borrow_mut().insert((m.to_string(), k, id), o);
                            }
                            Change::Delete(k, id) => {
                                self.objects.borrow_mut().remove(&(m.to_string(), k, id));
                            }
                        }
                    }
                    Ok(())
                }
                Err(p) => Err(p.fejl_kode()),
            }
        }
    }

    const M: &str = examples::MYNDIGHED;

    fn pl(op: KyOperation, h: Handling) -> KyPayload {
        examples::payload(op, h, 1)
    }

    #[test]
    fn the_examples_in_order_are_all_accepted() {
        let ky = Map::default();
        for (name, r) in examples::requests() {
            assert_eq!(ky.send(M, &r.payload), Ok(()), "{name}");
        }
        let course = ky.courses.borrow().values().next().cloned().unwrap();
        assert_eq!(course.status, Status::Aktiv, "stopped, then resumed");
        assert_eq!(course.visitationsgruppe.as_deref(), Some("JOBPARAT"));
        assert!(
            !ky.objects
                .borrow()
                .keys()
                .any(|(_, k, _)| *k == Kind::Aktivitet),
            "the activity was deleted"
        );
    }

    #[test]
    fn ky6_everything_but_a_new_course_needs_one_of_this_person_and_municipality() {
        let ky = Map::default();
        for op in KyOperation::ALL.into_iter().skip(1) {
            assert_eq!(
                ky.send(M, &pl(op, Handling::Opret)),
                Err("KY-6.UKENDT".into()),
                "{op}"
            );
        }
        ky.send(M, &pl(KyOperation::Kontaktforloeb, Handling::Opret))
            .unwrap();
        // Another municipality's course is invisible; another person's too.
        assert_eq!(
            ky.send("55133018", &pl(KyOperation::Fravaer, Handling::Opret)),
            Err("KY-6.UKENDT".into())
        );
        let mut other = pl(KyOperation::Maalgruppeskift, Handling::Opret);
        other.header.person_cpr = "3112851111".parse().unwrap();
        assert_eq!(ky.send(M, &other), Err("KY-6.UKENDT".into()));
        assert_eq!(
            ky.send(M, &pl(KyOperation::Maalgruppeskift, Handling::Opret)),
            Ok(())
        );
    }

    #[test]
    fn ky7_what_exists_is_not_created_again() {
        let ky = Map::default();
        ky.send(M, &pl(KyOperation::Kontaktforloeb, Handling::Opret))
            .unwrap();
        for op in KyOperation::ALL {
            let first = ky.send(M, &pl(op, Handling::Opret));
            if op == KyOperation::Kontaktforloeb {
                assert_eq!(first, Err("KY-7.FINDES".into()));
                continue;
            }
            assert_eq!(first, Ok(()), "{op}");
            if op != KyOperation::Maalgruppeskift {
                assert_eq!(
                    ky.send(M, &pl(op, Handling::Opret)),
                    Err("KY-7.FINDES".into()),
                    "{op}"
                );
            }
        }
    }

    #[test]
    fn ky8_unknown_objects_are_neither_changed_nor_named() {
        let ky = Map::default();
        ky.send(M, &pl(KyOperation::Kontaktforloeb, Handling::Opret))
            .unwrap();
        for (op, h) in [
            (KyOperation::Visitationsgruppe, Handling::Aendr),
            (KyOperation::Tilkendegivelse, Handling::Aendr),
            (KyOperation::Aktivitet, Handling::Aendr),
            (KyOperation::Aktivitet, Handling::Stop),
            (KyOperation::Aktivitet, Handling::Slet),
            // Both name the example's activity, which does not exist yet.
            (KyOperation::Godtgoerelse, Handling::Opret),
            (KyOperation::Fravaer, Handling::Opret),
        ] {
            assert_eq!(
                ky.send(M, &pl(op, h)),
                Err("KY-8.UKENDT".into()),
                "{op} {h}"
            );
        }
        // A deleted activity is gone.
        ky.send(M, &pl(KyOperation::Aktivitet, Handling::Opret))
            .unwrap();
        ky.send(M, &pl(KyOperation::Aktivitet, Handling::Slet))
            .unwrap();
        assert_eq!(
            ky.send(M, &pl(KyOperation::Aktivitet, Handling::Aendr)),
            Err("KY-8.UKENDT".into())
        );
    }

    #[test]
    fn ky9_stopped_takes_only_a_resume_and_only_stopped_is_resumed() {
        let ky = Map::default();
        ky.send(M, &pl(KyOperation::Kontaktforloeb, Handling::Opret))
            .unwrap();
        assert_eq!(
            ky.send(M, &pl(KyOperation::Kontaktforloeb, Handling::Genoptag)),
            Err("KY-9.IKKESTOPPET".into())
        );
        ky.send(M, &pl(KyOperation::Aktivitet, Handling::Opret))
            .unwrap();
        ky.send(M, &pl(KyOperation::Aktivitet, Handling::Stop))
            .unwrap();
        assert_eq!(
            ky.send(M, &pl(KyOperation::Aktivitet, Handling::Aendr)),
            Err("KY-9.STOPPET".into())
        );
        assert_eq!(
            ky.send(M, &pl(KyOperation::Aktivitet, Handling::Slet)),
            Ok(())
        );
        ky.send(M, &pl(KyOperation::Kontaktforloeb, Handling::Stop))
            .unwrap();
        for (op, h) in [
            (KyOperation::Kontaktforloeb, Handling::Aendr),
            (KyOperation::Kontaktforloeb, Handling::Stop),
            (KyOperation::Fravaer, Handling::Opret),
            (KyOperation::Maalgruppeskift, Handling::Opret),
        ] {
            assert_eq!(
                ky.send(M, &pl(op, h)),
                Err("KY-9.STOPPET".into()),
                "{op} {h}"
            );
        }
        assert_eq!(
            ky.send(M, &pl(KyOperation::Kontaktforloeb, Handling::Genoptag)),
            Ok(())
        );
        assert_eq!(
            ky.send(M, &pl(KyOperation::Maalgruppeskift, Handling::Opret)),
            Ok(())
        );
    }
}
