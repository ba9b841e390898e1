//! The running platform: its store, routing table, agreements and outgoing client.

use std::collections::BTreeMap;
use std::sync::RwLock;

use rusqlite::OptionalExtension;
use sim_certs::SystemIdentity;
use sim_kit::soap::{fault_response, SoapCall, SoapClient};
use sim_store::{
    Clock, Db, Direction, Journal, JournalEntry, Outbox, JOURNAL_MIGRATION, OUTBOX_MIGRATION,
};
use sim_wire::{Cvr, DatoTid, Rule, SoapFault, Uuid};
use time::OffsetDateTime;

use crate::config::{Agreement, Config, SERVICE};
use crate::SpError;
use sim_kit::config::{Endpoint, SystemRef};
use sim_kit::ids::IdStream;

/// The platform's own tables: routing and agreements as changed at run time, and a start
/// counter that keeps CallUUIDs unique across restarts.
const SP_MIGRATION: &str = "
CREATE TABLE IF NOT EXISTS sp_meta (k TEXT PRIMARY KEY, v INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS sp_routing (municipality TEXT PRIMARY KEY, instance TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS sp_agreements (id INTEGER PRIMARY KEY, json TEXT NOT NULL);
";

/// A call both exposures accept to look at further (see [`Platform::admit`]).
pub struct Admitted {
    /// The CallUUID every journal row and fault of this call carries.
    pub call_uuid: Uuid,
    /// The payload header's TransaktionIdentifikator, when readable.
    pub tid: Option<Uuid>,
    /// The security context's municipality, when readable.
    pub municipality: Option<Cvr>,
    /// The operation, one the caller may call on this port.
    pub op: sim_wire::Operation,
    /// The message as read.
    pub decoded: sim_wire::Decoded,
}

/// Everything a request handler needs.
pub struct Platform {
    pub clock: Clock,
    pub db: Db,
    pub journal: Journal,
    pub outbox: Outbox,
    pub ids: IdStream,
    pub routing: RwLock<BTreeMap<String, String>>,
    pub agreements: RwLock<Vec<Agreement>>,
    pub instances: BTreeMap<String, Endpoint>,
    pub ksd: Endpoint,
    pub ksd_system: SystemRef,
    pub client: SoapClient,
    pub faults: sim_kit::faults::Faults,
}

pub use sim_kit::config::peer_text;

/// A virtual time as the wire writes it.
pub fn dato_tid(t: OffsetDateTime) -> DatoTid {
    DatoTid(t)
}

impl Platform {
    pub async fn open(config: &Config, client: SoapClient) -> Result<Platform, SpError> {
        for cvr in config.routing.keys() {
            cvr.parse::<Cvr>()
                .map_err(|e| SpError::Config(format!("routing: {e}")))?;
        }
        for (cvr, inst) in &config.routing {
            if !config.instances.contains_key(inst) {
                return Err(SpError::Config(format!(
                    "routing: municipality {cvr} points at unknown instance '{inst}'"
                )));
            }
        }
        std::fs::create_dir_all(&config.state_dir)?;
        let db = Db::open(
            &config.state_dir.join("sp.sqlite"),
            &[JOURNAL_MIGRATION, OUTBOX_MIGRATION, SP_MIGRATION],
        )?;
        let routing_seed = config.routing.clone();
        let agreements_seed: Vec<String> = config
            .agreements
            .iter()
            .map(|a| serde_json::to_string(a).expect("agreements serialise"))
            .collect();
        let (epoch, routing, agreements) = db
            .write(move |tx| {
                tx.execute("INSERT INTO sp_meta (k, v) VALUES ('epoch', 1) ON CONFLICT(k) DO UPDATE SET v = v + 1", [])?;
                let epoch: i64 = tx.query_row("SELECT v FROM sp_meta WHERE k = 'epoch'", [], |r| r.get(0))?;
                let seeded: Option<i64> =
                    tx.query_row("SELECT v FROM sp_meta WHERE k = 'seeded'", [], |r| r.get(0)).optional()?;
                if seeded.is_none() {
                    for (m, i) in &routing_seed {
                        tx.execute("INSERT OR REPLACE INTO sp_routing (municipality, instance) VALUES (?1, ?2)", (m, i))?;
                    }
                    for a in &agreements_seed {
                        tx.execute("INSERT INTO sp_agreements (json) VALUES (?1)", [a])?;
                    }
                    tx.execute("INSERT INTO sp_meta (k, v) VALUES ('seeded', 1)", [])?;
                }
                let mut routing = BTreeMap::new();
                let mut st = tx.prepare("SELECT municipality, instance FROM sp_routing")?;
                for row in st.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))? {
                    let (m, i) = row?;
                    routing.insert(m, i);
                }
                let mut agreements = Vec::new();
                let mut st = tx.prepare("SELECT json FROM sp_agreements ORDER BY id")?;
                for row in st.query_map([], |r| r.get::<_, String>(0))? {
                    agreements.push(row?);
                }
                Ok((epoch, routing, agreements))
            })
            .await?;
        let agreements = agreements
            .iter()
            .map(|j| {
                serde_json::from_str(j)
                    .map_err(|e| SpError::Config(format!("stored agreement: {e}")))
            })
            .collect::<Result<Vec<Agreement>, _>>()?;
        Ok(Platform {
            clock: config.clock.clone(),
            journal: Journal::new(db.clone()),
            outbox: Outbox::new(db.clone(), config.clock.clone()),
            db,
            ids: IdStream::new(config.seed, "sp/call-uuid", epoch as u64),
            routing: RwLock::new(routing),
            agreements: RwLock::new(agreements),
            instances: config.instances.clone(),
            ksd: config.ksd.clone(),
            ksd_system: config.ksd_system.clone(),
            client,
            faults: config.faults.clone(),
        })
    }

    /// The common start of both exposures: a CallUUID, the message read, and the operation
    /// checked to be one that `caller` (`who`, for the text) may call on `port`. Anything else
    /// is refused here with its fault (WIRE-1), journaled under the CallUUID.
    pub async fn admit(
        &self,
        call: &SoapCall,
        port: sim_wire::Port,
        caller: sim_wire::Caller,
        who: &str,
    ) -> Result<Admitted, axum::response::Response> {
        let call_uuid = self.ids.next_uuid();
        let port_name = if port == sim_wire::Port::Ksd {
            "KSD"
        } else {
            "JC"
        };
        let decoded = match call.read() {
            Ok(d) => d,
            Err(e) => {
                let text = format!("The request is not a usable SOAP 1.1 message: {e}");
                return Err(self
                    .refuse(
                        call,
                        format!("{port_name}/?"),
                        None,
                        None,
                        call_uuid,
                        true,
                        e.rule(),
                        text,
                    )
                    .await);
            }
        };
        let municipality = decoded
            .authority_context
            .as_ref()
            .map(|a| a.municipality_cvr);
        let Some(op) = decoded
            .operation
            .filter(|o| o.port() == port && o.caller() == caller)
        else {
            let name = decoded
                .operation
                .map_or_else(|| "a fault".to_string(), |o| o.label());
            let text = format!(
                "{name} is not an operation {who} may call at {}.",
                port.platform_path()
            );
            let m = municipality.map(|m| m.to_string());
            return Err(self
                .refuse(
                    call,
                    name,
                    decoded.transaktion_id,
                    m,
                    call_uuid,
                    true,
                    Rule::Wire1,
                    text,
                )
                .await);
        };
        Ok(Admitted {
            call_uuid,
            tid: decoded.transaktion_id,
            municipality,
            op,
            decoded,
        })
    }

    /// The instance routed for a municipality (SP-3).
    pub fn route(&self, municipality: &Cvr) -> Option<String> {
        self.routing
            .read()
            .expect("routing lock")
            .get(&municipality.to_string())
            .cloned()
    }

    /// Whether the system has any agreement at all (an unknown system is refused outright).
    pub fn knows_system(&self, id: &SystemIdentity) -> bool {
        self.agreements
            .read()
            .expect("agreements lock")
            .iter()
            .any(|a| a.system.matches(id))
    }

    /// Whether the system may call the service for the municipality (SP-5).
    pub fn has_agreement(&self, id: &SystemIdentity, municipality: &Cvr) -> bool {
        let m = municipality.to_string();
        self.agreements
            .read()
            .expect("agreements lock")
            .iter()
            .any(|a| {
                a.system.matches(id)
                    && a.service == SERVICE
                    && (a.municipality == "*" || a.municipality == m)
            })
    }

    /// `e` (the entry of a request just received) dated when the request reached the platform:
    /// earlier than now if the fault layer held it back, so that the response time journaled
    /// includes the injected slowness (SP-8).
    pub fn arrived(call: &SoapCall, e: JournalEntry) -> JournalEntry {
        JournalEntry {
            at: call.arrived_at.map_or(e.at, |t| t.min(e.at)),
            ..e
        }
    }

    /// A journal entry with the common fields filled.
    #[allow(clippy::too_many_arguments)]
    pub fn entry(
        &self,
        direction: Direction,
        operation: String,
        transaktion_id: Option<Uuid>,
        call_uuid: Uuid,
        peer: Option<String>,
        municipality: Option<String>,
        outcome: String,
        detail: Option<String>,
        raw: String,
    ) -> JournalEntry {
        JournalEntry {
            at: self.clock.now(),
            direction,
            operation,
            transaktion_id: transaktion_id.map(|t| t.to_string()),
            call_uuid: Some(call_uuid.to_string()),
            peer,
            municipality,
            cpr: None,
            outcome,
            detail,
            raw,
        }
    }

    /// Journals entries in one commit.
    // TODO(rule SP-1): a failed journal write is only logged and the answer still goes out;
    // refusals and pass-through answers should not be sent unjournaled. Crashes cannot cause
    // it (a killed program answers nothing more); a failing disk could.
    pub async fn journal_all(&self, entries: Vec<JournalEntry>) {
        let r = self
            .db
            .write(move |tx| {
                for e in &entries {
                    Journal::record_in(tx, e)?;
                }
                Ok(())
            })
            .await;
        if let Err(e) = r {
            tracing::error!(error = %e, "journal write failed");
        }
    }

    /// Refuses a call with a platform fault (SP-4 family) naming `rule`, journals the request
    /// and the fault under the fault's CallUUID, and returns the HTTP 500 response.
    #[allow(clippy::too_many_arguments)]
    pub async fn refuse(
        &self,
        call: &SoapCall,
        operation: String,
        transaktion_id: Option<Uuid>,
        municipality: Option<String>,
        call_uuid: Uuid,
        client_error: bool,
        rule: Rule,
        text: String,
    ) -> axum::response::Response {
        let fault = SoapFault::serviceplatform(
            client_error,
            rule,
            &text,
            call_uuid,
            dato_tid(self.clock.now()),
        );
        let peer = call.peer.as_ref().map(peer_text);
        tracing::info!(%call_uuid, rule = rule.id(), %text, "refused");
        let outcome = format!("FAULT:{rule}");
        let request = self.entry(
            Direction::In,
            operation.clone(),
            transaktion_id,
            call_uuid,
            peer.clone(),
            municipality.clone(),
            outcome.clone(),
            Some(text),
            call.text(),
        );
        let request = Self::arrived(call, request);
        let answer = self.entry(
            Direction::Out,
            format!("{operation}#fault"),
            transaktion_id,
            call_uuid,
            peer,
            municipality,
            outcome,
            None,
            sim_wire::write_fault(&fault),
        );
        self.journal_all(vec![request, answer]).await;
        fault_response(&fault)
    }
}
