//! KY's tables in `ksd.sqlite` and their queries: contact courses, the objects in them, and
//! every accepted message with its answer (KY-10). Written only inside the writer's
//! transaction that also journals the call, so state, answer and journal commit together.

use rusqlite::{params, Connection, OptionalExtension, Transaction};
use sim_wire::{Cvr, Dato, Uuid};

use super::decide::{Change, Course, Kind, Object, State, Status};

/// KY's tables. Courses and objects are keyed by municipality first: one municipality's ids
/// never meet another's (KY-6).
pub const MIGRATION: &str = "
CREATE TABLE IF NOT EXISTS ky_messages (
    tid TEXT PRIMARY KEY,
    operation TEXT NOT NULL,
    municipality TEXT NOT NULL,
    canonical TEXT NOT NULL,
    response TEXT NOT NULL,
    at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS ky_courses (
    municipality TEXT NOT NULL,
    id TEXT NOT NULL,
    cpr TEXT NOT NULL,
    status TEXT NOT NULL,
    maalgruppe TEXT NOT NULL,
    start TEXT NOT NULL,
    slut TEXT,
    visitationsgruppe TEXT,
    visitation_fra TEXT,
    updated INTEGER NOT NULL,
    PRIMARY KEY (municipality, id)
);
CREATE TABLE IF NOT EXISTS ky_objects (
    municipality TEXT NOT NULL,
    kind TEXT NOT NULL,
    id TEXT NOT NULL,
    course TEXT NOT NULL,
    stopped INTEGER NOT NULL,
    detail TEXT NOT NULL,
    updated INTEGER NOT NULL,
    PRIMARY KEY (municipality, kind, id)
);
CREATE INDEX IF NOT EXISTS ky_objects_course ON ky_objects (municipality, course);
";

fn dato(s: Option<String>) -> Option<Dato> {
    s.and_then(|s| s.parse().ok())
}

fn course_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Course> {
    let cpr: String = r.get("cpr")?;
    let start: String = r.get("start")?;
    Ok(Course {
        cpr: cpr.parse().map_err(|_| rusqlite::Error::InvalidQuery)?,
        status: Status::parse(&r.get::<_, String>("status")?),
        maalgruppe: r.get("maalgruppe")?,
        start: start.parse().map_err(|_| rusqlite::Error::InvalidQuery)?,
        slut: dato(r.get("slut")?),
        visitationsgruppe: r.get("visitationsgruppe")?,
        visitation_fra: dato(r.get("visitation_fra")?),
    })
}

/// Reads KY's state through a connection (the writer's transaction derefs to one).
pub struct Tables<'c>(pub &'c Connection);

impl State for Tables<'_> {
    fn course(&self, m: &Cvr, id: &Uuid) -> rusqlite::Result<Option<Course>> {
        self.0
            .prepare_cached("SELECT * FROM ky_courses WHERE municipality = ?1 AND id = ?2")?
            .query_row(params![m.to_string(), id.to_string()], course_row)
            .optional()
    }

    fn object(&self, m: &Cvr, kind: Kind, id: &Uuid) -> rusqlite::Result<Option<Object>> {
        self.0
            .prepare_cached(
                "SELECT course, stopped, detail FROM ky_objects
                 WHERE municipality = ?1 AND kind = ?2 AND id = ?3",
            )?
            .query_row(params![m.to_string(), kind.as_str(), id.to_string()], |r| {
                let course: String = r.get(0)?;
                Ok(Object {
                    course: course.parse().map_err(|_| rusqlite::Error::InvalidQuery)?,
                    stopped: r.get(1)?,
                    detail: r.get(2)?,
                })
            })
            .optional()
    }
}

/// Writes what a decision asked for.
pub fn apply(tx: &Transaction<'_>, m: &Cvr, changes: &[Change], at: i64) -> rusqlite::Result<()> {
    let m = m.to_string();
    for c in changes {
        match c {
            Change::Course(id, c) => {
                tx.prepare_cached(
                    "INSERT OR REPLACE INTO ky_courses (municipality, id, cpr, status, maalgruppe,
                     start, slut, visitationsgruppe, visitation_fra, updated)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
                )?
                .execute(params![
                    m,
                    id.to_string(),
                    c.cpr.to_string(),
                    c.status.as_str(),
                    c.maalgruppe,
                    c.start.to_string(),
                    c.slut.map(|d| d.to_string()),
                    c.visitationsgruppe,
                    c.visitation_fra.map(|d| d.to_string()),
                    at
                ])?;
            }
            Change::Object(kind, id, o) => {
                tx.prepare_cached(
                    "INSERT OR REPLACE INTO ky_objects (municipality, kind, id, course, stopped,
                     detail, updated) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                )?
                .execute(params![
                    m,
                    kind.as_str(),
                    id.to_string(),
                    o.course.to_string(),
                    o.stopped,
                    o.detail,
                    at
                ])?;
            }
            Change::Delete(kind, id) => {
                tx.prepare_cached(
                    "DELETE FROM ky_objects WHERE municipality = ?1 AND kind = ?2 AND id = ?3",
                )?
                .execute(params![m, kind.as_str(), id.to_string()])?;
            }
        }
    }
    Ok(())
}

/// A message KY accepted before: its canonical content and the answer it got (KY-10).
pub fn answered(c: &Connection, tid: &str) -> rusqlite::Result<Option<(String, String)>> {
    c.prepare_cached("SELECT canonical, response FROM ky_messages WHERE tid = ?1")?
        .query_row([tid], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()
}

/// Records an accepted message and its answer (KY-10).
pub fn remember(
    tx: &Transaction<'_>,
    tid: &str,
    operation: &str,
    municipality: &str,
    canonical: &str,
    response: &str,
    at: i64,
) -> rusqlite::Result<()> {
    tx.prepare_cached(
        "INSERT INTO ky_messages (tid, operation, municipality, canonical, response, at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?
    .execute(params![
        tid,
        operation,
        municipality,
        canonical,
        response,
        at
    ])?;
    Ok(())
}

/// A contact course with its objects, as the admin API shows it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct CourseView {
    /// Municipality CVR.
    pub municipality: String,
    /// The jobcenter's KontaktforloebID.
    pub id: String,
    /// The citizen.
    pub cpr: String,
    /// `AKTIV` or `STOPPET`.
    pub status: String,
    /// Current target group.
    pub maalgruppe: String,
    /// First day.
    pub start: String,
    /// Last day, when stopped.
    pub slut: Option<String>,
    /// Assessment group, once created.
    pub visitationsgruppe: Option<String>,
    /// The objects in it.
    pub objects: Vec<ObjectView>,
}

/// One object of a course, as the admin API shows it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ObjectView {
    /// `AKTIVITET`, `FRAVAER` ...
    pub kind: String,
    /// The jobcenter's id.
    pub id: String,
    /// Stopped (activities).
    pub stopped: bool,
    /// What KY knows of it.
    pub detail: serde_json::Value,
}

/// The courses of a municipality (and person), with their objects, oldest change first.
pub fn courses(
    c: &Connection,
    municipality: Option<&str>,
    cpr: Option<&str>,
    offset: i64,
    limit: i64,
) -> rusqlite::Result<Vec<CourseView>> {
    let mut st = c.prepare_cached(
        "SELECT municipality, id, cpr, status, maalgruppe, start, slut, visitationsgruppe
         FROM ky_courses WHERE (?1 IS NULL OR municipality = ?1) AND (?2 IS NULL OR cpr = ?2)
         ORDER BY updated, municipality, id LIMIT ?3 OFFSET ?4",
    )?;
    let mut out: Vec<CourseView> = st
        .query_map(params![municipality, cpr, limit, offset], |r| {
            Ok(CourseView {
                municipality: r.get(0)?,
                id: r.get(1)?,
                cpr: r.get(2)?,
                status: r.get(3)?,
                maalgruppe: r.get(4)?,
                start: r.get(5)?,
                slut: r.get(6)?,
                visitationsgruppe: r.get(7)?,
                objects: Vec::new(),
            })
        })?
        .collect::<rusqlite::Result<_>>()?;
    let mut st = c.prepare_cached(
        "SELECT kind, id, stopped, detail FROM ky_objects
         WHERE municipality = ?1 AND course = ?2 ORDER BY updated, kind, id",
    )?;
    for v in &mut out {
        v.objects = st
            .query_map(params![v.municipality, v.id], |r| {
                let detail: String = r.get(3)?;
                Ok(ObjectView {
                    kind: r.get(0)?,
                    id: r.get(1)?,
                    stopped: r.get(2)?,
                    detail: serde_json::from_str(&detail).unwrap_or(serde_json::Value::Null),
                })
            })?
            .collect::<rusqlite::Result<_>>()?;
    }
    Ok(out)
}
