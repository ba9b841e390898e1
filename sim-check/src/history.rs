//! Reads the three programs' SQLite files, read-only, into memory: every journal row without its
//! raw XML, plus the few columns of the programs' own tables that no journal row carries.
//!
//! Files are opened with `SQLITE_OPEN_READ_ONLY`, never through `sim_store::Db::open` (which runs
//! migrations and sets pragmas, i.e. writes), so checking a run cannot change its evidence.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use sim_store::rusqlite::{self, Connection, OpenFlags, OptionalExtension};

use crate::{CheckError, CheckInput};

/// One journal row, as far as a checker needs it.
///
/// The few distinct operations, outcomes, peers and municipalities are shared (`Arc<str>`,
/// interned while loading): a month run has millions of rows, and a `String` each doubled the
/// checkers' memory.
#[derive(Debug, Clone)]
pub(crate) struct Row {
    /// Commit order within its program.
    pub id: i64,
    /// Virtual time, Unix milliseconds.
    pub at: i64,
    /// Received (`true`) or sent.
    pub inbound: bool,
    /// Operation label, with `#response`/`#fault` for answers.
    pub operation: Arc<str>,
    /// Lowercased TransaktionIdentifikator.
    pub tid: Option<String>,
    /// Lowercased call UUID.
    pub call: Option<String>,
    /// Identity text, URL or (for the platform's deliveries) instance name.
    pub peer: Option<Arc<str>>,
    /// Municipality CVR.
    pub municipality: Option<Arc<str>>,
    /// What became of the message.
    pub outcome: Arc<str>,
}

impl Row {
    /// Whether it is the request leg (not an answer) of `operation`, in `inbound` direction.
    pub fn is(&self, inbound: bool, operation: &str) -> bool {
        self.inbound == inbound && &*self.operation == operation
    }

    /// The best id to show for it: TransaktionIdentifikator, else CallUUID, else the row id.
    pub fn example(&self) -> String {
        self.tid
            .clone()
            .or_else(|| self.call.clone())
            .unwrap_or_else(|| format!("journal row {}", self.id))
    }
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

    fn has_table(&self, table: &str) -> Result<bool, CheckError> {
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

    /// Raw XML of inbound rows *without* a TransaktionIdentifikator whose outcome refused
    /// them: a message too broken to be read has its identifier only in its bytes.
    pub fn unread_refusals(&self) -> Result<Vec<(i64, String)>, CheckError> {
        let mut st = self
            .conn
            .prepare(
                "SELECT id, outcome, raw FROM journal
                 WHERE transaktion_id IS NULL AND direction = 'in'
                   AND (outcome = 'FEJL' OR outcome LIKE 'FAULT:%') ORDER BY id",
            )
            .map_err(sqlite_error(self.name, &self.path))?;
        let rows = st
            .query_map([], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                ))
            })
            .and_then(|rows| rows.collect::<rusqlite::Result<Vec<_>>>())
            .map_err(sqlite_error(self.name, &self.path))?;
        Ok(rows
            .into_iter()
            .filter(|(_, outcome, _)| crate::conventions::is_refusal(outcome))
            .map(|(id, _, raw)| (id, raw.to_ascii_lowercase()))
            .collect())
    }
}

fn sqlite_error<'a>(
    program: &'static str,
    path: &'a Path,
) -> impl Fn(rusqlite::Error) -> CheckError + 'a {
    move |source| CheckError::Sqlite {
        program,
        path: path.to_path_buf(),
        source,
    }
}

fn lower(s: Option<String>) -> Option<String> {
    s.map(|s| s.to_ascii_lowercase())
}

fn load_rows(conn: &Connection) -> rusqlite::Result<Vec<Row>> {
    let mut st = conn.prepare(
        "SELECT id, at, direction, operation, transaktion_id, call_uuid, peer, municipality,
                outcome
         FROM journal ORDER BY id",
    )?;
    let mut strings = Interner::default();
    let mut rows = st.query([])?;
    let mut out = Vec::new();
    while let Some(r) = rows.next()? {
        out.push(Row {
            id: r.get(0)?,
            at: r.get(1)?,
            inbound: r.get::<_, String>(2)? == "in",
            operation: strings.get(&r.get::<_, String>(3)?),
            tid: lower(r.get(4)?),
            call: lower(r.get(5)?),
            peer: r.get::<_, Option<String>>(6)?.map(|p| strings.get(&p)),
            municipality: r.get::<_, Option<String>>(7)?.map(|m| strings.get(&m)),
            outcome: strings.get(&r.get::<_, String>(8)?),
        });
    }
    Ok(out)
}

/// One shared copy of each distinct text.
#[derive(Default)]
struct Interner(HashSet<Arc<str>>);

impl Interner {
    fn get(&mut self, s: &str) -> Arc<str> {
        if let Some(a) = self.0.get(s) {
            return Arc::clone(a);
        }
        let a: Arc<str> = Arc::from(s);
        self.0.insert(Arc::clone(&a));
        a
    }
}

/// What KSD's own tables say (`ksd_updates`, `ksd_case_history` of `sim-ksd/src/cases.rs`):
/// needed because the journal says that KSD *answered* OK, not that it recorded the update once.
#[derive(Debug, Default)]
pub(crate) struct KsdTables {
    /// `ksd_updates.transaktion_id`: updates recorded as processed.
    pub updates: BTreeSet<String>,
    /// `ksd_case_history` rows per TransaktionIdentifikator: case changes made by an update.
    pub history: BTreeMap<String, u64>,
}

/// A business receipt as a vendor stored it (`jc_receipts` of `sim-jobcenter/src/state.rs`).
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
    /// Opens the three files read-only and loads them.
    pub fn load(input: &CheckInput) -> Result<History, CheckError> {
        let sp = Program::open("sim-sp", &input.sp_db)?;
        let ksd = Program::open("sim-ksd", &input.ksd_db)?;
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
    let mut st =
        c.prepare("SELECT transaktion_id, COUNT(*) FROM ksd_case_history GROUP BY transaktion_id")?;
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
