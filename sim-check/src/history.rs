//! Reads the three programs' SQLite files, read-only, into memory: every journal row without its
//! raw XML, plus the few columns of the programs' own tables that no journal row carries.
//!
//! Files are opened with `SQLITE_OPEN_READ_ONLY`, never through `sim_store::Db::open` (which runs
//! migrations and sets pragmas, i.e. writes), so checking a run cannot change its evidence.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use sim_store::rusqlite::{self, Connection, OpenFlags, OptionalExtension};
use sim_store::{Direction, Label, Outcome, Part};
use sim_wire::Operation;

use crate::{CheckError, CheckInput};

/// One journal row, as far as a checker needs it.
///
/// The few distinct labels, outcomes, peers and municipalities are parsed once and shared
/// (interned while loading): a month run has millions of rows, and a value each doubled the
/// checkers' memory.
#[derive(Debug, Clone)]
pub(crate) struct Row {
    /// Commit order within its program.
    pub id: i64,
    /// Virtual time, Unix milliseconds.
    pub at: i64,
    /// Received (`true`) or sent.
    pub inbound: bool,
    /// Operation and part (request, response, fault).
    pub label: Arc<Label>,
    /// The contract operation `label` names, resolved once per distinct label, so that asking
    /// a row which leg it is compares enums, not texts.
    pub op: Option<Operation>,
    /// Lowercased TransaktionIdentifikator.
    pub tid: Option<String>,
    /// Lowercased call UUID.
    pub call: Option<String>,
    /// Identity text, URL or (for the platform's deliveries) instance name.
    pub peer: Option<Arc<str>>,
    /// Municipality CVR.
    pub municipality: Option<Arc<str>>,
    /// What became of the message.
    pub outcome: Arc<Outcome>,
}

impl Row {
    /// Whether it is the request leg of `op`, received (`inbound`) or sent.
    pub fn is(&self, inbound: bool, op: Operation) -> bool {
        self.is_leg(inbound, op, Part::Request)
    }

    /// Whether it is the `part` leg of `op`, received (`inbound`) or sent.
    pub fn is_leg(&self, inbound: bool, op: Operation, part: Part) -> bool {
        self.inbound == inbound && self.op == Some(op) && self.label.part() == part
    }

    /// Whether the platform took this call it received in (not refused): the pass-through
    /// journals a request it forwards as `Received` (SP-13); a platform with an outbox
    /// journaled its own OK/ADVARSEL.
    pub fn taken(&self) -> bool {
        self.outcome.is_accepting() || *self.outcome == Outcome::Received
    }

    /// The best id to show for it: TransaktionIdentifikator, else CallUUID, else the row id.
    pub fn example(&self) -> String {
        self.tid
            .clone()
            .or_else(|| self.call.clone())
            .unwrap_or_else(|| format!("journal row {}", self.id))
    }
}

/// The date (UTC, `YYYY-MM-DD`, as KSD's virtual dates are written) of a journal time.
pub(crate) fn date_of(ms: i64) -> String {
    sim_store::from_unix_millis(ms)
        .map(|t| sim_wire::Dato(t.date()).to_string())
        .unwrap_or_default()
}

/// One program's file and journal.
pub(crate) struct Program {
    /// `sim-sp`, `sim-ksd`, `sim-jobcenter`, for error messages.
    pub name: &'static str,
    /// The file.
    pub path: PathBuf,
    /// Open read-only, for the rare look-ups that need the raw XML.
    pub conn: Connection,
    /// Every journal row, in id order.
    pub rows: Vec<Row>,
}

impl Program {
    fn open(name: &'static str, path: &Path) -> Result<Program, CheckError> {
        if !path.is_file() {
            return Err(CheckError::Missing {
                program: name,
                path: path.to_path_buf(),
            });
        }
        let err = sqlite_error(name, path);
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(&err)?;
        conn.busy_timeout(std::time::Duration::from_secs(5))
            .map_err(&err)?;
        let rows = load_rows(&conn).map_err(&err)?;
        Ok(Program {
            name,
            path: path.to_path_buf(),
            conn,
            rows,
        })
    }

    /// A program whose journal is not ours (an outside system in its seat): no rows; what it
    /// did is judged from what the others saw of it.
    fn absent(name: &'static str) -> Result<Program, CheckError> {
        let path = PathBuf::from(format!("<{name}: an outside system>"));
        let conn = Connection::open_in_memory().map_err(sqlite_error(name, &path))?;
        Ok(Program {
            name,
            path,
            conn,
            rows: Vec::new(),
        })
    }

    /// An outside KSD's history as the platform journaled it: every update forwarded to KSD
    /// (with KSD's answer as its outcome) as KSD's inbound row, every business receipt KSD
    /// sent the platform as KSD's outbound row. Raw lookups read the platform's file.
    fn ksd_as_the_platform_saw_it(sp: &Program, sp_db: &Path) -> Result<Program, CheckError> {
        let name = "sim-ksd";
        let err = sqlite_error(name, sp_db);
        let conn = Connection::open_with_flags(
            sp_db,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(&err)?;
        let rows = sp
            .rows
            .iter()
            .filter_map(|r| {
                let forwarded = r.is(false, Operation::ModtagOpdateringFravaer);
                let receipt = r.is(true, Operation::SendForretningsSvarJc);
                (forwarded || receipt).then(|| Row {
                    inbound: forwarded,
                    ..r.clone()
                })
            })
            .collect();
        Ok(Program {
            name,
            path: sp_db.to_path_buf(),
            conn,
            rows,
        })
    }

    pub(crate) fn has_table(&self, table: &str) -> Result<bool, CheckError> {
        self.conn
            .query_row(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?1",
                [table],
                |_| Ok(()),
            )
            .optional()
            .map(|o| o.is_some())
            .map_err(sqlite_error(self.name, &self.path))
    }

    /// The raw XML of journal row `id` (evidence for reports).
    pub fn raw(&self, id: i64) -> Result<String, CheckError> {
        self.conn
            .prepare_cached("SELECT raw FROM journal WHERE id = ?1")
            .and_then(|mut st| st.query_row([id], |row| row.get::<_, String>(0)))
            .map_err(sqlite_error(self.name, &self.path))
    }

    /// Raw XML (lowercased) of inbound rows *without* a TransaktionIdentifikator whose outcome
    /// refused them ([`Outcome::is_refusal`]): a message too broken to be read has its
    /// identifier only in its bytes. The rows are chosen from the loaded journal, so the
    /// vocabulary decides what a refusal is; only their raw XML is read from the file.
    pub fn unread_refusals(&self) -> Result<Vec<(i64, String)>, CheckError> {
        let err = sqlite_error(self.name, &self.path);
        let mut st = self
            .conn
            .prepare("SELECT raw FROM journal WHERE id = ?1")
            .map_err(&err)?;
        self.rows
            .iter()
            .filter(|r| r.inbound && r.tid.is_none() && r.outcome.is_refusal())
            .map(|r| {
                st.query_row([r.id], |row| row.get::<_, String>(0))
                    .map(|raw| (r.id, raw.to_ascii_lowercase()))
                    .map_err(&err)
            })
            .collect()
    }
}

pub(crate) fn sqlite_error<'a>(
    program: &'static str,
    path: &'a Path,
) -> impl Fn(rusqlite::Error) -> CheckError + 'a {
    move |source| CheckError::Sqlite {
        program,
        path: path.to_path_buf(),
        source,
    }
}

fn lower(s: Option<&str>) -> Option<String> {
    s.map(str::to_ascii_lowercase)
}

fn load_rows(conn: &Connection) -> rusqlite::Result<Vec<Row>> {
    let mut st = conn.prepare(
        "SELECT id, at, direction, operation, transaktion_id, call_uuid, peer, municipality,
                outcome
         FROM journal ORDER BY id",
    )?;
    let mut labels = Interner::default();
    let mut outcomes = Interner::default();
    let mut strings = Interner::default();
    let mut text = |s: &str| strings.get(s, |s| Arc::<str>::from(s));
    let mut rows = st.query([])?;
    let mut out = Vec::new();
    while let Some(r) = rows.next()? {
        let (label, op) = labels.get(r.get_ref(3)?.as_str()?, parse_label);
        out.push(Row {
            id: r.get(0)?,
            at: r.get(1)?,
            inbound: r.get::<_, Direction>(2)? == Direction::In,
            label,
            op,
            tid: lower(r.get_ref(4)?.as_str_or_null()?),
            call: lower(r.get_ref(5)?.as_str_or_null()?),
            peer: r.get_ref(6)?.as_str_or_null()?.map(&mut text),
            municipality: r.get_ref(7)?.as_str_or_null()?.map(&mut text),
            outcome: outcomes.get(r.get_ref(8)?.as_str()?, parse_outcome),
        });
    }
    Ok(out)
}

/// A stored label with the contract operation it names (see [`Row::op`]).
fn parse_label(s: &str) -> (Arc<Label>, Option<Operation>) {
    let label: Label = s.parse().unwrap_or_else(|e| match e {});
    let op = label.known();
    (Arc::new(label), op)
}

fn parse_outcome(s: &str) -> Arc<Outcome> {
    Arc::new(s.parse().unwrap_or_else(|e| match e {}))
}

/// One shared value per distinct stored text, made from the text once.
struct Interner<V>(HashMap<Box<str>, V>);

impl<V> Default for Interner<V> {
    fn default() -> Self {
        Interner(HashMap::new())
    }
}

impl<V: Clone> Interner<V> {
    fn get(&mut self, s: &str, make: impl FnOnce(&str) -> V) -> V {
        if let Some(v) = self.0.get(s) {
            return v.clone();
        }
        let v = make(s);
        self.0.insert(Box::from(s), v.clone());
        v
    }
}

/// What KSD's own tables say (`ksd_updates`, `ksd_case_history` of `sim-ksd/src/cases.rs`):
/// needed because the journal says that KSD *answered* OK, not that it recorded the update once.
#[derive(Debug, Default)]
pub(crate) struct KsdTables {
    /// `ksd_updates.transaktion_id`: updates recorded as processed.
    pub updates: BTreeSet<String>,
    /// `ksd_case_history` rows per TransaktionIdentifikator: case changes made by an update
    /// (not those KSD made itself, which carry their event's TransaktionIdentifikator).
    pub history: BTreeMap<String, u64>,
}

/// A business receipt as a vendor stored it (`jc_receipts` of
/// `sim-jobcenter/src/flows/sf2095/store.rs`).
#[derive(Debug, Clone)]
pub(crate) struct StoredReceipt {
    /// The instance whose receiver port stored it first: the journal row does not say.
    pub instance: String,
    /// The municipality of its security context.
    pub municipality: String,
    /// First stored (virtual ms).
    pub received_at: i64,
}

/// What the jobcenter process's own tables say (`jc_updates`, `jc_receipts`): which instance
/// sent an update and which stored a receipt, which no jobcenter journal row carries.
#[derive(Debug, Default)]
pub(crate) struct JcTables {
    /// `jc_updates`: TransaktionIdentifikator → (sending instance, status).
    pub updates: BTreeMap<String, (String, String)>,
    /// `jc_receipts`: TransaktionIdentifikator → the stored receipt.
    pub receipts: BTreeMap<String, StoredReceipt>,
}

/// Everything a checker reads.
pub(crate) struct History {
    /// `sim-sp`.
    pub sp: Program,
    /// `sim-ksd`.
    pub ksd: Program,
    /// `sim-jobcenter` (all vendor instances share one file).
    pub jc: Program,
    /// `None` when KSD's tables are absent (a real KSD took the seat).
    pub ksd_tables: Option<KsdTables>,
    /// `None` when the jobcenter's tables are absent.
    pub jc_tables: Option<JcTables>,
}

impl History {
    /// Opens the three files read-only and loads them. When an outside KSD takes the seat its
    /// journal is not ours: KSD's history is then what the platform saw of it
    /// ([`Program::ksd_as_the_platform_saw_it`]).
    pub fn load(input: &CheckInput) -> Result<History, CheckError> {
        let sp = if input.platform_is_outside() {
            Program::absent("sim-sp")?
        } else {
            Program::open("sim-sp", &input.sp_db)?
        };
        let ksd = if input.ksd_is_outside() {
            Program::ksd_as_the_platform_saw_it(&sp, &input.sp_db)?
        } else {
            Program::open("sim-ksd", &input.ksd_db)?
        };
        let jc = Program::open("sim-jobcenter", &input.jobcenter_db)?;
        let ksd_tables = if ksd.has_table("ksd_updates")? && ksd.has_table("ksd_case_history")? {
            Some(load_ksd(&ksd.conn).map_err(sqlite_error(ksd.name, &ksd.path))?)
        } else {
            None
        };
        let jc_tables = if jc.has_table("jc_updates")? && jc.has_table("jc_receipts")? {
            Some(load_jc(&jc.conn).map_err(sqlite_error(jc.name, &jc.path))?)
        } else {
            None
        };
        Ok(History {
            sp,
            ksd,
            jc,
            ksd_tables,
            jc_tables,
        })
    }

    /// How far the run reaches (Unix milliseconds of virtual time): the latest journal time of
    /// any program, or the end of the traffic if later.
    pub fn horizon(&self, input: &CheckInput) -> i64 {
        self.last_at()
            .unwrap_or(i64::MIN)
            .max(sim_store::unix_millis(input.run_end))
    }

    /// The latest journal time of any program: how far the history reaches.
    pub fn last_at(&self) -> Option<i64> {
        [&self.sp, &self.ksd, &self.jc]
            .iter()
            .filter_map(|p| p.rows.iter().map(|r| r.at).max())
            .max()
    }
}

fn load_ksd(c: &Connection) -> rusqlite::Result<KsdTables> {
    let mut t = KsdTables::default();
    let mut st = c.prepare("SELECT transaktion_id FROM ksd_updates")?;
    for tid in st.query_map([], |r| r.get::<_, String>(0))? {
        t.updates.insert(tid?.to_ascii_lowercase());
    }
    // Changes KSD made itself (its duration codes, cases created or ended in KSD: KSD-9,
    // KSD-10) are history rows under the TransaktionIdentifikator of the event that told the
    // jobcenter; they are no update's.
    let own_events = c
        .prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'ksd_events'")?
        .exists([])?;
    let sql = if own_events {
        "SELECT transaktion_id, COUNT(*) FROM ksd_case_history
         WHERE transaktion_id NOT IN (SELECT transaktion_id FROM ksd_events)
         GROUP BY transaktion_id"
    } else {
        "SELECT transaktion_id, COUNT(*) FROM ksd_case_history GROUP BY transaktion_id"
    };
    let mut st = c.prepare(sql)?;
    for row in st.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))? {
        let (tid, n) = row?;
        *t.history.entry(tid.to_ascii_lowercase()).or_default() += u64::try_from(n).unwrap_or(0);
    }
    Ok(t)
}

fn load_jc(c: &Connection) -> rusqlite::Result<JcTables> {
    let mut t = JcTables::default();
    let mut st = c.prepare("SELECT transaktion_id, instance, status FROM jc_updates")?;
    for row in st.query_map([], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, String>(2)?,
        ))
    })? {
        let (tid, instance, status) = row?;
        t.updates
            .insert(tid.to_ascii_lowercase(), (instance, status));
    }
    let mut st =
        c.prepare("SELECT transaktion_id, instance, municipality, received_at FROM jc_receipts")?;
    for row in st.query_map([], |r| {
        Ok((
            r.get::<_, String>(0)?,
            StoredReceipt {
                instance: r.get(1)?,
                municipality: r.get(2)?,
                received_at: r.get(3)?,
            },
        ))
    })? {
        let (tid, rec) = row?;
        t.receipts.insert(tid.to_ascii_lowercase(), rec);
    }
    Ok(t)
}
