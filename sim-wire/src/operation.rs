//! The operations of service "Sygefravaer" v2 (wire.md §3) and how a message names one.

use crate::ns::{self, KnownNs};

/// Which port (namespace) an operation belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
pub enum Port {
    /// The KSD exposure (called by jobcenters) and KSD's own receiver port.
    Ksd,
    /// The JC exposure (called by KSD) and every jobcenter's receiver port.
    Jc,
}

impl Port {
    /// The operation elements' namespace of this port.
    pub fn namespace(self) -> &'static str {
        match self {
            Port::Ksd => ns::SF_KSD,
            Port::Jc => ns::SF_JC,
        }
    }

    pub(crate) fn known_ns(self) -> KnownNs {
        match self {
            Port::Ksd => KnownNs::SfKsd,
            Port::Jc => KnownNs::SfJc,
        }
    }

    /// The platform endpoint path that exposes this port.
    pub fn platform_path(self) -> &'static str {
        match self {
            Port::Ksd => "/service/KSD/Sygefravaer/2",
            Port::Jc => "/service/JC/Sygefravaer/2",
        }
    }
}

/// What kind of payload an operation's request carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PayloadKind {
    /// `sft:OpdateringFravaer` (SF2095).
    OpdateringFravaer,
    /// `sft:ForretningsSvar`.
    ForretningsSvar,
    /// `sft:ForretningsSvarForlaengelse` (SF2093 answer).
    ForretningsSvarForlaengelse,
    /// `sft:Haendelse` (SF2090).
    Haendelse,
    /// `sft:AnmodningForlaengelse` (SF2093).
    AnmodningForlaengelse,
    /// `SagIdentifikator` or `NemRefusionIdentifier` (SF2096).
    HentSag,
    /// `SygemeldtePart?`, `PeriodeFra?`, `PeriodeTil?` (SF2096).
    HentSagsListe,
}

/// Who calls an operation — decides which rule covers its security context.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Caller {
    /// A jobcenter calls the platform (rule SP-5).
    Jobcenter,
    /// KSD calls the platform (rule SP-2).
    Ksd,
    /// The platform calls a receiver (rule SP-7).
    Platform,
}

macro_rules! operations {
    ($($variant:ident = ($port:ident, $name:literal, $kind:ident, $caller:ident, $fwd:expr);)*) => {
        /// One operation of the contract, identified by port namespace + local name.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Operation {
            $(
                #[doc = concat!("`", $name, "` on the ", stringify!($port), " port.")]
                $variant,
            )*
        }

        impl Operation {
            /// Every operation of wire.md §3.
            pub const ALL: &'static [Operation] = &[$(Operation::$variant),*];

            /// The port (and so the namespace) the operation belongs to.
            pub fn port(self) -> Port {
                match self { $(Operation::$variant => Port::$port,)* }
            }

            /// The operation's name, e.g. `SendOpdateringFravaer`.
            pub fn name(self) -> &'static str {
                match self { $(Operation::$variant => $name,)* }
            }

            /// The request's payload kind.
            pub fn payload_kind(self) -> PayloadKind {
                match self { $(Operation::$variant => PayloadKind::$kind,)* }
            }

            /// Who calls this operation.
            pub fn caller(self) -> Caller {
                match self { $(Operation::$variant => Caller::$caller,)* }
            }

            /// For a platform operation, the receiver's operation it is forwarded to.
            pub fn forwarded_to(self) -> Option<Operation> {
                match self { $(Operation::$variant => $fwd,)* }
            }
        }
    };
}

operations! {
    SendOpdateringFravaer = (Ksd, "SendOpdateringFravaer", OpdateringFravaer, Jobcenter, Some(Operation::ModtagOpdateringFravaer));
    SendForretningsSvarKsd = (Ksd, "SendForretningsSvar", ForretningsSvar, Jobcenter, Some(Operation::ModtagForretningsSvarKsd));
    SendForretningsSvarForlaengelse = (Ksd, "SendForretningsSvarForlaengelse", ForretningsSvarForlaengelse, Jobcenter, Some(Operation::ModtagForretningsSvarForlaengelse));
    HentSag = (Ksd, "HentSag", HentSag, Jobcenter, Some(Operation::HentSag));
    HentSagsListe = (Ksd, "HentSagsListe", HentSagsListe, Jobcenter, Some(Operation::HentSagsListe));
    ModtagOpdateringFravaer = (Ksd, "ModtagOpdateringFravaer", OpdateringFravaer, Platform, None);
    ModtagForretningsSvarKsd = (Ksd, "ModtagForretningsSvar", ForretningsSvar, Platform, None);
    ModtagForretningsSvarForlaengelse = (Ksd, "ModtagForretningsSvarForlaengelse", ForretningsSvarForlaengelse, Platform, None);
    SendForretningsSvarJc = (Jc, "SendForretningsSvar", ForretningsSvar, Ksd, Some(Operation::ModtagForretningsSvarJc));
    SendHaendelse = (Jc, "SendHaendelse", Haendelse, Ksd, Some(Operation::ModtagHaendelse));
    SendAnmodningForlaengelse = (Jc, "SendAnmodningForlaengelse", AnmodningForlaengelse, Ksd, Some(Operation::ModtagAnmodningForlaengelse));
    ModtagForretningsSvarJc = (Jc, "ModtagForretningsSvar", ForretningsSvar, Platform, None);
    ModtagHaendelse = (Jc, "ModtagHaendelse", Haendelse, Platform, None);
    ModtagAnmodningForlaengelse = (Jc, "ModtagAnmodningForlaengelse", AnmodningForlaengelse, Platform, None);
}

impl Operation {
    /// The `SOAPAction` header value (unquoted): port namespace + operation name.
    pub fn soap_action(self) -> String {
        format!("{}{}", self.port().namespace(), self.name())
    }

    /// The request element's local name, `<Operation>Request`.
    pub fn request_element(self) -> String {
        format!("{}Request", self.name())
    }

    /// The response element's local name, `<Operation>Response`.
    pub fn response_element(self) -> String {
        format!("{}Response", self.name())
    }

    /// Whether the request is answered only with a transport receipt (everything but SF2096).
    pub fn is_asynchronous(self) -> bool {
        !matches!(
            self.payload_kind(),
            PayloadKind::HentSag | PayloadKind::HentSagsListe
        )
    }

    /// A short stable label, `KSD/SendOpdateringFravaer`, for journals and reports.
    pub fn label(self) -> String {
        let port = match self.port() {
            Port::Ksd => "KSD",
            Port::Jc => "JC",
        };
        format!("{port}/{}", self.name())
    }

    /// Finds the operation by port and name.
    pub fn find(port: Port, name: &str) -> Option<Operation> {
        Operation::ALL
            .iter()
            .copied()
            .find(|o| o.port() == port && o.name() == name)
    }

    /// Every operation with this name, whatever the port (used when the namespace is foreign).
    pub fn by_name(name: &str) -> impl Iterator<Item = Operation> + '_ {
        Operation::ALL
            .iter()
            .copied()
            .filter(move |o| o.name() == name)
    }

    /// Reads a `SOAPAction` value (quoted or not) into an operation; `None` when it names
    /// none of ours.
    pub fn from_soap_action(action: &str) -> Option<Operation> {
        let a = action.trim().trim_matches('"');
        [Port::Ksd, Port::Jc].into_iter().find_map(|p| {
            a.strip_prefix(p.namespace())
                .and_then(|n| Operation::find(p, n))
        })
    }
}

impl std::fmt::Display for Operation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.label())
    }
}

impl serde::Serialize for Operation {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn soap_action_round_trips_for_every_operation() {
        for op in Operation::ALL {
            assert_eq!(Operation::from_soap_action(&op.soap_action()), Some(*op));
            assert_eq!(
                Operation::from_soap_action(&format!("\"{}\"", op.soap_action())),
                Some(*op)
            );
        }
        assert_eq!(Operation::ALL.len(), 14);
    }

    #[test]
    fn platform_operations_forward_to_receiver_operations() {
        assert_eq!(
            Operation::SendOpdateringFravaer.forwarded_to(),
            Some(Operation::ModtagOpdateringFravaer)
        );
        assert_eq!(
            Operation::SendForretningsSvarJc.forwarded_to(),
            Some(Operation::ModtagForretningsSvarJc)
        );
        assert!(Operation::ModtagHaendelse.forwarded_to().is_none());
    }
}
