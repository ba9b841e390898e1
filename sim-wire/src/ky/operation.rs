//! The eight operations of `KontanthjaelpServiceKY` v2 (SF1690, wire.md §5) and the
//! sub-actions (`Handling`) seed 003 names for each.

use crate::ns;

/// The platform exposure jobcenters call; KY's own receiver port has the same operations.
pub const PLATFORM_PATH: &str = "/service/KY/Kontanthjaelp/2";

/// The service name a service agreement for SF1690 names (SP-5).
pub const SERVICE: &str = "KontanthjaelpServiceKY";

macro_rules! ky_operations {
    ($($variant:ident = ($name:literal, $payload:literal, [$($h:ident),*]);)*) => {
        /// One operation of `KontanthjaelpServiceKY`. The platform forwards each under the same
        /// name (a synchronous pass-through, like SF2096's look-ups), so one value names both
        /// legs.
        ///
        /// In JSON (the jobcenter's admin API) by its name, e.g. `"SendKontaktforloeb"`.
        #[derive(
            Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize,
            serde::Deserialize,
        )]
        pub enum KyOperation {
            $(
                #[doc = concat!("`", $name, "`: carries `kyt:", $payload, "`.")]
                #[serde(rename = $name)]
                $variant,
            )*
        }

        impl KyOperation {
            /// Every operation, in seed 003's order.
            pub const ALL: [KyOperation; 8] = [$(KyOperation::$variant),*];

            /// The operation's name, e.g. `SendKontaktforloeb`.
            pub fn name(self) -> &'static str {
                match self { $(KyOperation::$variant => $name,)* }
            }

            /// The payload element's local name, e.g. `Kontaktforloeb`.
            pub fn payload_element(self) -> &'static str {
                match self { $(KyOperation::$variant => $payload,)* }
            }

            /// The sub-actions seed 003 names for this operation (rule KY-3); the first is
            /// the one every operation has, registration.
            pub fn handlinger(self) -> &'static [Handling] {
                match self { $(KyOperation::$variant => &[$(Handling::$h),*],)* }
            }
        }
    };
}

ky_operations! {
    Kontaktforloeb = ("SendKontaktforloeb", "Kontaktforloeb", [Opret, Aendr, Stop, Genoptag]);
    Visitationsgruppe = ("SendVisitationsgruppe", "Visitationsgruppe", [Opret, Aendr]);
    Tilkendegivelse = ("SendTilkendegivelse", "Tilkendegivelse", [Opret, Aendr]);
    Aktivitet = ("SendAktivitet", "Aktivitet", [Opret, Aendr, Stop, Slet]);
    Godtgoerelse = ("SendGodtgoerelse", "Godtgoerelse", [Opret]);
    Fravaer = ("SendFravaer", "Fravaer", [Opret]);
    Sanktionsanmodning = ("SendSanktionsanmodning", "Sanktionsanmodning", [Opret]);
    Maalgruppeskift = ("SendMaalgruppeskift", "Maalgruppeskift", [Opret]);
}

impl KyOperation {
    /// The `SOAPAction` header value (unquoted): the KY namespace + the operation name.
    pub fn soap_action(self) -> String {
        format!("{}{}", ns::KY, self.name())
    }

    /// `<Operation>Request`.
    pub fn request_element(self) -> String {
        format!("{}Request", self.name())
    }

    /// `<Operation>Response`.
    pub fn response_element(self) -> String {
        format!("{}Response", self.name())
    }

    /// The journal label, `KY/<Operation>` — the label `sim_wire::flows` reserves for the leg.
    pub fn label(self) -> String {
        format!("KY/{}", self.name())
    }

    /// The operation a name denotes.
    pub fn from_name(name: &str) -> Option<KyOperation> {
        KyOperation::ALL.into_iter().find(|o| o.name() == name)
    }

    /// The operation a journal label (`KY/SendAktivitet`) names.
    pub fn from_label(label: &str) -> Option<KyOperation> {
        label.strip_prefix("KY/").and_then(KyOperation::from_name)
    }

    /// Reads a `SOAPAction` (quoted or not); `None` when it names no KY operation.
    pub fn from_soap_action(action: &str) -> Option<KyOperation> {
        let a = action.trim().trim_matches('"');
        a.strip_prefix(ns::KY).and_then(KyOperation::from_name)
    }

    /// Whether `h` is one of this operation's sub-actions (rule KY-3).
    pub fn allows(self, h: Handling) -> bool {
        self.handlinger().contains(&h)
    }
}

impl std::fmt::Display for KyOperation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.label())
    }
}

/// A message's sub-action (`kyt:Handling`, *defined here*): what the jobcenter did to the
/// object the message carries. Seed 003 names oprettelse, ændring, stop, genoptag and slet.
/// In JSON by its wire text (`"OPRET"`).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "UPPERCASE")]
pub enum Handling {
    /// `OPRET`: created (for the registering operations: registered).
    Opret,
    /// `AENDR`: changed.
    Aendr,
    /// `STOP`: ended; an end date is required.
    Stop,
    /// `GENOPTAG`: resumed after a stop.
    Genoptag,
    /// `SLET`: deleted (registered by mistake).
    Slet,
}

impl Handling {
    /// Every sub-action.
    pub const ALL: [Handling; 5] = [
        Handling::Opret,
        Handling::Aendr,
        Handling::Stop,
        Handling::Genoptag,
        Handling::Slet,
    ];

    /// The wire text.
    pub fn as_str(self) -> &'static str {
        match self {
            Handling::Opret => "OPRET",
            Handling::Aendr => "AENDR",
            Handling::Stop => "STOP",
            Handling::Genoptag => "GENOPTAG",
            Handling::Slet => "SLET",
        }
    }
}

impl std::fmt::Display for Handling {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Handling {
    type Err = crate::values::ValueError;

    /// Case-insensitive, like the receipts' codes; written upper case.
    fn from_str(s: &str) -> Result<Handling, Self::Err> {
        Handling::ALL
            .into_iter()
            .find(|h| h.as_str().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| {
                crate::values::ValueError(format!(
                    "'{s}' is not a Handling: OPRET, AENDR, STOP, GENOPTAG or SLET"
                ))
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_actions_and_labels_round_trip() {
        for op in KyOperation::ALL {
            assert_eq!(KyOperation::from_soap_action(&op.soap_action()), Some(op));
            assert_eq!(
                KyOperation::from_soap_action(&format!("\"{}\"", op.soap_action())),
                Some(op)
            );
            assert_eq!(KyOperation::from_label(&op.label()), Some(op));
            assert_eq!(op.handlinger()[0], Handling::Opret, "{op}");
        }
        assert_eq!(KyOperation::from_soap_action("SendKontaktforloeb"), None);
    }

    #[test]
    fn sub_actions_are_the_seeds() {
        // rule KY-3: seed 003 names create/change/stop/resume for Kontaktforloeb,
        // create/change/stop/delete for Aktivitet, create/change for Visitationsgruppe and
        // Tilkendegivelse, and registration only for the other four.
        use Handling::*;
        assert!(KyOperation::Kontaktforloeb.allows(Genoptag));
        assert!(!KyOperation::Kontaktforloeb.allows(Slet));
        assert!(KyOperation::Aktivitet.allows(Slet));
        assert!(!KyOperation::Aktivitet.allows(Genoptag));
        assert!(!KyOperation::Visitationsgruppe.allows(Stop));
        assert_eq!(KyOperation::Fravaer.handlinger(), &[Opret]);
        assert_eq!("aendr".parse::<Handling>().unwrap(), Aendr);
        assert!("DELETE".parse::<Handling>().is_err());
    }

    #[test]
    fn every_operation_has_its_reserved_flow_row() {
        for op in KyOperation::ALL {
            let f = crate::flows::flow_of_label(&op.label()).expect("a row in FLOWS");
            assert_eq!(f.integration, crate::flows::Integration::Sf1690);
            assert_eq!(f.exposure, Some(PLATFORM_PATH));
            assert_eq!(f.ky_operation(), Some(op));
        }
    }
}
