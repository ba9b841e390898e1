//! The running platform: its store, routing table, agreements and outgoing client.

use std::collections::BTreeMap;
use std::sync::RwLock;

use axum::response::Response;
use rusqlite::OptionalExtension;
use sim_certs::SystemIdentity;
use sim_kit::soap::{SoapCall, SoapClient};
use sim_store::{
    Clock, Db, Direction, Exchange, Journal, JournalEntry, Label, Outcome, Part, JOURNAL_MIGRATION,
};
use sim_wire::{Cvr, Port, Rule, Uuid};

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
    /// The caller's side of the call, for every row journaled about it and every refusal.
    pub exchange: Exchange,
}

/// Everything a request handler needs.
pub struct Platform {
    pub clock: Clock,
    pub db: Db,
    pub journal: Journal,
    pub ids: IdStream,
    /// This start's number (1, 2, ...): keys the id streams so ids stay unique across restarts.
    pub epoch: u64,
    pub routing: RwLock<BTreeMap<String, String>>,
    pub agreements: RwLock<Vec<Agreement>>,
    pub instances: BTreeMap<String, Endpoint>,
    pub ksd: Endpoint,
    /// KY's receiver port (SF1690), when the platform has a route to KY.
    pub ky: Option<Endpoint>,
    pub ksd_system: SystemRef,
    pub client: SoapClient,
    pub faults: sim_kit::faults::Faults,
    /// Serializes the admin API's changes (routing, agreements): each one reads, writes the
    /// store and swaps the memory under it, so concurrent changes are never lost and memory
    /// always equals the store (a restart routes as before).
    pub control: tokio::sync::Mutex<()>,
}

pub use sim_kit::config::peer_text;

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
            &[JOURNAL_MIGRATION, SP_MIGRATION, crate::star_job::MIGRATION],
        )?;
        // A state directory from a version with a platform outbox may hold receipts it had
        // acknowledged to KSD and not delivered: this version has no outbox (SP-13), so
        // starting would lose them silently.
        let undelivered: i64 = db
            .read(|c| {
                let has = c
                    .prepare(
                        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'outbox'",
                    )?
                    .exists([])?;
                if !has {
                    return Ok(0);
                }
                c.query_row("SELECT COUNT(*) FROM outbox", [], |r| r.get(0))
            })
            .await?;
        if undelivered > 0 {
            return Err(SpError::Config(format!(
                "{}: {undelivered} business receipts wait in the outbox of an earlier version; \
                 this platform is a pass-through (SP-13) and keeps none: deliver them with the \
                 earlier version or start on a fresh state directory",
                config.state_dir.join("sp.sqlite").display()
            )));
        }
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
            db,
            ids: IdStream::new(config.seed, "sp/call-uuid", epoch as u64),
            epoch: epoch as u64,
            routing: RwLock::new(routing),
            agreements: RwLock::new(agreements),
            instances: config.instances.clone(),
            ksd: config.ksd.clone(),
            ky: config.ky.clone(),
            ksd_system: config.ksd_system.clone(),
            client,
            faults: config.faults.clone(),
            control: tokio::sync::Mutex::new(()),
        })
    }

    /// The common start of both exposures: a CallUUID, the message read, and the operation
    /// checked to be one that `caller` (`who`, for the text) may call on `port`. Anything else
    /// is refused here with its fault (WIRE-1), journaled under the CallUUID.
    pub async fn admit(
        &self,
        call: &SoapCall,
        port: Port,
        caller: sim_wire::Caller,
        who: &str,
    ) -> Result<Admitted, Response> {
        let call_uuid = self.ids.next_uuid();
        // Overload: the server marked the call shed. Answered at once, before the body is
        // even parsed, nothing forwarded (SP-4: the caller resends, JC-1), so the calls that
        // are served keep SP-8's times.
        if let Some(why) = &call.shed {
            let exchange = caller_side(call, Label::unknown(port), None, None, call_uuid);
            let text = format!(
                "The platform is overloaded: {why}. The call was not processed; send it again."
            );
            return Err(self
                .refuse(call, &exchange, call_uuid, false, Rule::Sp4, text)
                .await);
        }
        let decoded = match call.read() {
            Ok(d) => d,
            Err(e) => {
                let exchange = caller_side(call, Label::unknown(port), None, None, call_uuid);
                let text = format!("The request is not a usable SOAP 1.1 message: {e}");
                return Err(self
                    .refuse(call, &exchange, call_uuid, true, e.rule(), text)
                    .await);
            }
        };
        let tid = decoded.transaktion_id;
        let municipality = decoded
            .authority_context
            .as_ref()
            .map(|a| a.municipality_cvr);
        let Some(op) = decoded
            .operation
            .filter(|o| o.port() == port && o.caller() == caller)
        else {
            let label = Label::claimed(decoded.operation);
            let text = format!(
                "{label} is not an operation {who} may call at {}.",
                port.platform_path()
            );
            let exchange = caller_side(call, label, tid, municipality, call_uuid);
            return Err(self
                .refuse(call, &exchange, call_uuid, true, Rule::Wire1, text)
                .await);
        };
        // WIRE-1 before anything is forwarded: the SOAPAction must name the operation the
        // Body holds (the platform forwards with the Body's SOAPAction, so a mismatch would
        // otherwise pass unnoticed). Business content is the receiver's to judge.
        let action = decoded
            .problems
            .iter()
            .find(|p| p.is_error() && p.rule == Rule::Wire1 && p.path == "SOAPAction");
        if let Some(p) = action {
            let text = format!("{}: {}", p.path, p.text);
            let exchange = caller_side(call, Label::request(op), tid, municipality, call_uuid);
            return Err(self
                .refuse(call, &exchange, call_uuid, true, Rule::Wire1, text)
                .await);
        }
        Ok(Admitted {
            call_uuid,
            tid,
            municipality,
            op,
            exchange: caller_side(call, Label::request(op), tid, municipality, call_uuid),
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

    /// Whether the system may call the Sygefravaer service for the municipality (SP-5).
    pub fn has_agreement(&self, id: &SystemIdentity, municipality: &Cvr) -> bool {
        self.has_agreement_for(id, municipality, SERVICE)
    }

    /// Whether the system may call `service` for the municipality (SP-5): each service has
    /// its own agreements (SF1690's is `sim_wire::ky::SERVICE`).
    pub fn has_agreement_for(
        &self,
        id: &SystemIdentity,
        municipality: &Cvr,
        service: &str,
    ) -> bool {
        let m = municipality.to_string();
        self.agreements
            .read()
            .expect("agreements lock")
            .iter()
            .any(|a| {
                a.system.matches(id)
                    && a.service == service
                    && (a.municipality == "*" || a.municipality == m)
            })
    }

    /// The row of the request `call` just received on `exchange`, dated when it reached the
    /// platform: earlier than now if the fault layer held it back, so that the response time
    /// journaled includes the injected slowness (SP-8).
    pub fn received(
        &self,
        call: &SoapCall,
        exchange: &Exchange,
        outcome: Outcome,
        detail: Option<String>,
    ) -> JournalEntry {
        let now = self.clock.now();
        let at = call.arrived_at.map_or(now, |t| t.min(now));
        exchange.entry(
            at,
            Direction::In,
            Part::Request,
            outcome,
            detail,
            call.text(),
        )
    }

    /// Refuses `call` with a platform fault (SP-4 family) naming `rule`: the request and the
    /// fault journaled on the caller's side of the exchange, under `call_uuid`.
    // The request is dated when it arrived (before any injected delay), the fault now, so a
    // request held back and then refused shows its response time (SP-8).
    pub async fn refuse(
        &self,
        call: &SoapCall,
        exchange: &Exchange,
        call_uuid: Uuid,
        client: bool,
        rule: Rule,
        text: String,
    ) -> Response {
        let detail = Some(text.clone());
        let now = self.clock.now();
        sim_kit::soap::refuse(
            &self.journal,
            exchange,
            call.arrived_at.unwrap_or(now),
            now,
            call_uuid,
            client,
            rule,
            &text,
            detail,
            call.text(),
        )
        .await
    }
}

/// The caller's side of a call to an exposure: the called operation's label, the caller's
/// identity as its certificate told it, and the municipality of the security context.
pub fn caller_side(
    call: &SoapCall,
    label: Label,
    tid: Option<Uuid>,
    municipality: Option<Cvr>,
    call_uuid: Uuid,
) -> Exchange {
    Exchange {
        label,
        transaktion_id: tid.map(|t| t.to_string()),
        call_uuid: Some(call_uuid.to_string()),
        peer: call.peer.as_ref().map(peer_text),
        municipality: municipality.map(|m| m.to_string()),
        cpr: None,
    }
}
