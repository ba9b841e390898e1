//! The four operations STAR exposes to the platform's job (seed 004 §3.3.2, EP_STAR1..4), the
//! two services they belong to, their SOAPActions, element names and journal labels.

use super::ns;

/// The sub-queue STAR keeps for KSD's sick-leave statuses: the only `SubQueueIdentifier` a
/// `CreateSequence` may name (seed 004 §3.3.4; rule SP-10).
pub const KSD_SUB_QUEUE: u32 = 6;

/// The one service item STAR offers on KSD's sub-queue (seed 004 §3.3.4): the operation that
/// fetches the events, named in `ServiceItem/ServiceName`.
pub const GET_ILLNESS_UPDATED_SERVICE_NAME: &str = "GetIllnessUpdatedVersion6";

/// Which of STAR's two services an operation belongs to: each is its own exposure (path).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum StarService {
    /// `WsrmService`: the sequence protocol (create, terminate, close).
    Wsrm,
    /// `WsrmMessageService`: fetching the events of a sequence.
    WsrmMessage,
}

impl StarService {
    /// The service's name, as seed 004 writes it.
    pub fn name(self) -> &'static str {
        match self {
            StarService::Wsrm => "WsrmService",
            StarService::WsrmMessage => "WsrmMessageService",
        }
    }

    /// The WSDL target namespace, the prefix of its operations' SOAPActions.
    pub fn namespace(self) -> &'static str {
        match self {
            StarService::Wsrm => ns::WSRM,
            StarService::WsrmMessage => ns::WSRM_MESSAGE,
        }
    }
}

/// One operation of STAR's side of SF1612.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum StarOperation {
    /// EP_STAR1: start a sequence on sub-queue 6; answers its `Identifier` and the service
    /// item to fetch with (seed 004 §3.3.4).
    CreateSequence,
    /// EP_STAR2: every event of the sequence named in the `SequenceRequest` header; empty
    /// Body (seed 004 §3.3.5).
    GetIllnessUpdatedVersion6,
    /// EP_STAR3: the sequence ended well; its events are gone for good (seed 004 §3.3.6).
    TerminateSequence,
    /// EP_STAR4: the sequence failed; all its events go back on the queue (seed 004 §3.3.7).
    CloseSequence,
}

impl StarOperation {
    /// All four, in the order a sequence uses them (close last: the failure path).
    pub const ALL: [StarOperation; 4] = [
        StarOperation::CreateSequence,
        StarOperation::GetIllnessUpdatedVersion6,
        StarOperation::TerminateSequence,
        StarOperation::CloseSequence,
    ];

    /// The operation's name, e.g. `CreateSequence`.
    pub fn name(self) -> &'static str {
        match self {
            StarOperation::CreateSequence => "CreateSequence",
            StarOperation::GetIllnessUpdatedVersion6 => "GetIllnessUpdatedVersion6",
            StarOperation::TerminateSequence => "TerminateSequence",
            StarOperation::CloseSequence => "CloseSequence",
        }
    }

    /// The service it belongs to.
    pub fn service(self) -> StarService {
        match self {
            StarOperation::GetIllnessUpdatedVersion6 => StarService::WsrmMessage,
            _ => StarService::Wsrm,
        }
    }

    /// The `SOAPAction` header value (unquoted): the service namespace + the operation name.
    pub fn soap_action(self) -> String {
        format!("{}{}", self.service().namespace(), self.name())
    }

    /// The journal label, `STAR/<Operation>`: the label `crate::flows` reserves for the leg.
    pub fn label(self) -> String {
        format!("STAR/{}", self.name())
    }

    /// The namespace of the request's and the response's Body element.
    pub fn element_namespace(self) -> &'static str {
        match self {
            StarOperation::GetIllnessUpdatedVersion6 => ns::ILLNESS,
            _ => ns::WSRM,
        }
    }

    /// The local name of the request's Body element. Seed 004 shows
    /// `CreateSequenceRequestType` and `GetIllnessUpdatedRequest`; terminate and close follow
    /// the create pattern (defined here).
    pub fn request_element(self) -> &'static str {
        match self {
            StarOperation::CreateSequence => "CreateSequenceRequestType",
            StarOperation::GetIllnessUpdatedVersion6 => "GetIllnessUpdatedRequest",
            StarOperation::TerminateSequence => "TerminateSequenceRequestType",
            StarOperation::CloseSequence => "CloseSequenceRequestType",
        }
    }

    /// The local name of the response's Body element (`CreateSequenceResponseType` and
    /// `GetIllnessUpdatedResponse` from seed 004, the other two by the same pattern).
    pub fn response_element(self) -> &'static str {
        match self {
            StarOperation::CreateSequence => "CreateSequenceResponseType",
            StarOperation::GetIllnessUpdatedVersion6 => "GetIllnessUpdatedResponse",
            StarOperation::TerminateSequence => "TerminateSequenceResponseType",
            StarOperation::CloseSequence => "CloseSequenceResponseType",
        }
    }

    /// The operation a SOAPAction names (quotes and whitespace ignored).
    pub fn from_soap_action(action: &str) -> Option<StarOperation> {
        let a = action.trim().trim_matches('"');
        StarOperation::ALL
            .into_iter()
            .find(|op| a.strip_prefix(op.service().namespace()) == Some(op.name()))
    }

    /// The operation a journal label (without its `#part`) names.
    pub fn from_label(label: &str) -> Option<StarOperation> {
        let name = label.strip_prefix("STAR/")?;
        StarOperation::ALL.into_iter().find(|op| op.name() == name)
    }

    /// The operation whose request (`true`) or response (`false`) element this is.
    pub fn from_element(namespace: &str, local: &str) -> Option<(StarOperation, bool)> {
        StarOperation::ALL.into_iter().find_map(|op| {
            if op.element_namespace() != namespace {
                None
            } else if op.request_element() == local {
                Some((op, true))
            } else if op.response_element() == local {
                Some((op, false))
            } else {
                None
            }
        })
    }
}

impl std::fmt::Display for StarOperation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actions_labels_and_elements_name_their_operation() {
        for op in StarOperation::ALL {
            assert_eq!(StarOperation::from_soap_action(&op.soap_action()), Some(op));
            assert_eq!(
                StarOperation::from_soap_action(&format!("\"{}\"", op.soap_action())),
                Some(op)
            );
            assert_eq!(StarOperation::from_label(&op.label()), Some(op));
            assert_eq!(
                StarOperation::from_element(op.element_namespace(), op.request_element()),
                Some((op, true))
            );
            assert_eq!(
                StarOperation::from_element(op.element_namespace(), op.response_element()),
                Some((op, false))
            );
            // The flows table reserves exactly these labels for SF1612's STAR legs.
            assert!(
                crate::flows::flow_of_label(&op.label()).is_some(),
                "{}",
                op.label()
            );
        }
        assert_eq!(
            StarOperation::from_soap_action(
                "http://star.dk/dfdg/WsrmService/3/GetIllnessUpdatedVersion6"
            ),
            None,
            "the fetch lives on the message service"
        );
        assert_eq!(StarOperation::from_label("STAR/Nope"), None);
    }
}
