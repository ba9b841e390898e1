//! Prometheus metrics: what every program serves at `GET /metrics` on its admin port
//! (mounted by [`crate::program::serve_program`]), in the text exposition format.
//!
//! The series are counted where things happen, through the `metrics` facade: messages, journal
//! rows and bytes where every program journals (`sim_store::Journal::record_in`), outbox
//! deliveries and depth in `sim_store::Outbox::run`, call latency in [`crate::HttpsClient`],
//! request latency, refusals, sheds and open connections in [`crate::serve`], message-level
//! refusals in [`crate::soap::refuse`]. [`install`] puts the one recorder in place and
//! [`scrape`] renders it.
//!
//! # One registry per process, a `program` label on every series
//! The `metrics` facade has one global recorder per process, and `sim up`, `sim run` and the
//! end-to-end tests host every program in one process (each on a tokio runtime of its own,
//! `src/ecosystem/hosting.rs`). So there is one registry per process and every series carries a
//! `program` label naming the program it counts (`sim-sp`, `sim-ksd`, `sim-jobcenter`,
//! `sim-star`, `sim-bf`; `sim` for the command line's own traffic). Every admin port serves the
//! whole registry: a program run as its own process (a binary, a container) shows only its own
//! series; in one process each port shows all of them, told apart by `program`
//! (`{program="sim-ksd"}`). A recorder per program (`metrics::with_local_recorder`) would have
//! needed the same knowledge of "which program is this" at every emission site, plus a scope
//! around every task, connection and worker thread; the label needs it in one place.
//!
//! Which program a series belongs to is decided by the recorder ([`ProgramLabel`]) when the
//! series is touched, from the thread it is touched on: a hosted program's runtime threads are
//! named after its binary (`sim-ksd`, [`PROGRAMS`]), and any other thread belongs to the
//! process, named after its executable (`sim-ksd` run alone, `sim` for the command line).
//! `sim-store` names its series itself (a journal row is written on the database's writer
//! thread, which works for whichever program opened it): after the database file, since each
//! program keeps one, named after it (`ksd.sqlite` → `sim-ksd`). A series that already has a
//! `program` label keeps it.
//!
//! # Bounded labels
//! No label carries an identifier (TransaktionIdentifikator, CPR, call id, peer): operations
//! are the journal's `<port>/<Operation>` of a leg of the contract (anything else is `other`,
//! so a caller inventing SOAPActions cannot grow the registry), outcomes the journal's, rules
//! and refusal reasons their stable codes, statuses HTTP codes or a client error's kind.
//!
//! # The series
//! | name | kind | labels |
//! |---|---|---|
//! | `sim_messages_total` | counter | `operation`, `part` (request, response, fault), `direction` (in, out), `outcome` |
//! | `sim_journal_rows_total`, `sim_journal_bytes_total` | counter | — (bytes: the raw XML) |
//! | `sim_outbox_waiting` | gauge | — (items not yet delivered, read every `sim_store::outbox::DEPTH_EVERY`) |
//! | `sim_outbox_attempts_total` | counter | `result` (`delivered`, `failed`: each failure is retried) |
//! | `sim_client_call_duration_seconds` | histogram | `operation`, `status` (HTTP status, or `timeout`, `transport`, `url`, `header`) |
//! | `sim_server_request_duration_seconds` | histogram | `operation`, `status` |
//! | `sim_refusals_total` | counter | `level` (`message`: a SOAP fault naming a rule; `connection`: the accept loop's `reason=`), `rule` |
//! | `sim_shed_total` | counter | `limit` (`per_caller`, `in_flight`, `connections`) |
//! | `sim_connections_open` | gauge | — (mTLS connections holding a slot) |
//!
//! Latencies are real elapsed time (`Instant`), never the virtual clock: they measure the
//! machine, not the scenario.

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use metrics::{describe_counter, describe_gauge, describe_histogram, Unit};
use metrics::{Counter, Gauge, Histogram, Key, KeyName, Label, Metadata, Recorder, SharedString};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

/// The label every series carries.
pub const PROGRAM_LABEL: &str = "program";

/// The programs a thread can be named after: the ecosystem names each hosted program's runtime
/// threads with its binary's name (`src/ecosystem/hosting.rs`). A new program is added here.
pub const PROGRAMS: [&str; 5] = ["sim-sp", "sim-ksd", "sim-jobcenter", "sim-star", "sim-bf"];

/// The content type of the text exposition format.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Latency buckets in seconds: a loopback call takes milliseconds; injected delays and
/// timeouts take seconds (the clients give up after 30 s).
const LATENCY_BUCKETS: [f64; 14] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

/// How often the recorder's histogram buffers are drained when nobody scrapes (without it
/// every sample is kept until the next scrape).
const UPKEEP_EVERY: Duration = Duration::from_secs(5);

/// The process's one registry, once [`install`]ed.
static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// Installs the process's recorder (once; later calls return the same handle): the Prometheus
/// recorder with latency buckets, behind [`ProgramLabel`], and a thread that drains its
/// histogram buffers. If another recorder was installed first (not ours), ours is kept for
/// rendering but receives nothing: logged, never fatal.
pub fn install() -> &'static PrometheusHandle {
    HANDLE.get_or_init(|| {
        // Refused only for an empty bucket list; then latencies are summaries.
        let builder = match PrometheusBuilder::new()
            .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), &LATENCY_BUCKETS)
        {
            Ok(b) => b,
            Err(e) => {
                tracing::warn!(error = %e, "metrics: latency buckets refused; summaries instead");
                PrometheusBuilder::new()
            }
        };
        let recorder = builder.build_recorder();
        let handle = recorder.handle();
        if metrics::set_global_recorder(ProgramLabel { inner: recorder }).is_err() {
            tracing::warn!("metrics: another recorder is installed; /metrics stays empty");
        }
        describe();
        let upkeep = handle.clone();
        let spawned = std::thread::Builder::new()
            .name("sim-metrics-upkeep".into())
            .spawn(move || loop {
                std::thread::sleep(UPKEEP_EVERY);
                upkeep.run_upkeep();
            });
        if let Err(e) = spawned {
            tracing::warn!(error = %e, "metrics: no upkeep thread; histograms drain on scrape");
        }
        handle
    })
}

/// `GET /metrics`: the process's registry in the text exposition format.
pub async fn scrape() -> Response {
    let mut response = install().render().into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE));
    response
}

/// The HELP and unit lines of every series.
fn describe() {
    describe_counter!(
        "sim_messages_total",
        "Messages journaled, by operation, part, direction and outcome."
    );
    describe_counter!("sim_journal_rows_total", "Journal rows written.");
    describe_counter!(
        "sim_journal_bytes_total",
        Unit::Bytes,
        "Raw message bytes written to the journal."
    );
    describe_gauge!("sim_outbox_waiting", "Outbox items not yet delivered.");
    describe_counter!(
        "sim_outbox_attempts_total",
        "Outbox delivery attempts, by result (a failed one is retried)."
    );
    describe_histogram!(
        "sim_client_call_duration_seconds",
        Unit::Seconds,
        "Outgoing HTTPS calls, from sending to the whole answer read (real time)."
    );
    describe_histogram!(
        "sim_server_request_duration_seconds",
        Unit::Seconds,
        "Requests handled on an mTLS data plane, to the response made (real time)."
    );
    describe_counter!(
        "sim_refusals_total",
        "Refusals: SOAP faults naming a rule, and connections the accept loop turned away."
    );
    describe_counter!(
        "sim_shed_total",
        "Requests a shedding server answered at once with a fault, by the limit reached."
    );
    describe_gauge!(
        "sim_connections_open",
        "mTLS connections being served (holding a slot)."
    );
}

/// Which program the current thread works for: a hosted program's runtime thread names it,
/// any other thread belongs to the process (see the module docs).
pub fn current_program() -> &'static str {
    let thread = std::thread::current();
    if let Some(name) = thread.name() {
        if let Some(p) = PROGRAMS.iter().find(|p| **p == name) {
            return p;
        }
    }
    process_name()
}

/// The executable's name (`sim-ksd`, `sim`), read once.
fn process_name() -> &'static str {
    static NAME: OnceLock<String> = OnceLock::new();
    NAME.get_or_init(|| {
        std::env::args_os()
            .next()
            .and_then(|a| {
                std::path::Path::new(&a)
                    .file_stem()
                    .map(|s| s.to_string_lossy().into_owned())
            })
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| "sim".to_string())
    })
}

/// The recorder layer that gives every series its `program` label (unless it has one), then
/// hands it to the Prometheus recorder.
#[derive(Debug)]
pub struct ProgramLabel<R> {
    inner: R,
}

impl<R> ProgramLabel<R> {
    /// `inner` behind the layer.
    pub fn new(inner: R) -> ProgramLabel<R> {
        ProgramLabel { inner }
    }
}

/// `key` with a `program` label: its own if it has one, else the current thread's.
fn labelled(key: &Key) -> Key {
    if key.labels().any(|l| l.key() == PROGRAM_LABEL) {
        return key.clone();
    }
    let labels: Vec<Label> = key
        .labels()
        .cloned()
        .chain(std::iter::once(Label::new(
            PROGRAM_LABEL,
            SharedString::const_str(current_program()),
        )))
        .collect();
    Key::from_parts(key.name_shared(), labels)
}

impl<R: Recorder> Recorder for ProgramLabel<R> {
    fn describe_counter(&self, key: KeyName, unit: Option<Unit>, description: SharedString) {
        self.inner.describe_counter(key, unit, description);
    }

    fn describe_gauge(&self, key: KeyName, unit: Option<Unit>, description: SharedString) {
        self.inner.describe_gauge(key, unit, description);
    }

    fn describe_histogram(&self, key: KeyName, unit: Option<Unit>, description: SharedString) {
        self.inner.describe_histogram(key, unit, description);
    }

    fn register_counter(&self, key: &Key, metadata: &Metadata<'_>) -> Counter {
        self.inner.register_counter(&labelled(key), metadata)
    }

    fn register_gauge(&self, key: &Key, metadata: &Metadata<'_>) -> Gauge {
        self.inner.register_gauge(&labelled(key), metadata)
    }

    fn register_histogram(&self, key: &Key, metadata: &Metadata<'_>) -> Histogram {
        self.inner.register_histogram(&labelled(key), metadata)
    }
}

/// The journal label (`KSD/ModtagOpdateringFravaer`) of the operation a SOAPAction names, in
/// any contract the ecosystem speaks; `other` for anything else (bounded: a caller cannot add
/// series by inventing actions).
pub fn operation_of_action(action: Option<&str>) -> String {
    let Some(a) = action else {
        return "other".to_string();
    };
    if let Some(op) = sim_wire::Operation::from_soap_action(a) {
        return op.label();
    }
    if let Some(op) = sim_wire::ky::KyOperation::from_soap_action(a) {
        return op.label();
    }
    if let Some(op) = sim_wire::star::StarOperation::from_soap_action(a) {
        return op.label();
    }
    if let Some(op) = sim_wire::besked::BfOperation::from_soap_action(a) {
        return op.label();
    }
    "other".to_string()
}

/// Real elapsed time from its start: the one place latency metrics read `Instant::now`.
#[derive(Debug, Clone, Copy)]
pub struct Timer(Instant);

impl Timer {
    /// Starts now.
    pub fn start() -> Timer {
        Timer(Instant::now())
    }

    /// Records the time since the start in `histogram` with `labels`.
    pub fn observe(self, histogram: &'static str, labels: &[(&'static str, String)]) {
        let labels: Vec<Label> = labels
            .iter()
            .map(|(k, v)| Label::new(*k, v.clone()))
            .collect();
        metrics::histogram!(histogram, labels).record(self.0.elapsed());
    }
}

/// An outgoing call's latency (`sim_client_call_duration_seconds`).
pub(crate) fn client_call(timer: Timer, action: Option<&str>, status: String) {
    timer.observe(
        "sim_client_call_duration_seconds",
        &[
            ("operation", operation_of_action(action)),
            ("status", status),
        ],
    );
}

/// A handled request's latency (`sim_server_request_duration_seconds`).
pub(crate) fn server_request(timer: Timer, action: Option<&str>, status: u16) {
    timer.observe(
        "sim_server_request_duration_seconds",
        &[
            ("operation", operation_of_action(action)),
            ("status", status.to_string()),
        ],
    );
}

/// A refusal: `level` `message` (a SOAP fault naming `rule`) or `connection` (the accept
/// loop's `reason=` code).
pub(crate) fn refusal(level: &'static str, rule: &'static str) {
    metrics::counter!("sim_refusals_total", "level" => level, "rule" => rule).increment(1);
}

/// A request shed at `limit` (`per_caller`, `in_flight`, `connections`).
pub(crate) fn shed(limit: &'static str) {
    metrics::counter!("sim_shed_total", "limit" => limit).increment(1);
}

/// Counts one mTLS connection open (`sim_connections_open`) until dropped.
#[derive(Debug)]
pub(crate) struct OpenConnection(Gauge);

impl OpenConnection {
    /// Counts a connection in, on the program the current thread works for.
    pub(crate) fn enter() -> OpenConnection {
        let g = metrics::gauge!("sim_connections_open");
        g.increment(1.0);
        OpenConnection(g)
    }
}

impl Drop for OpenConnection {
    fn drop(&mut self) {
        self.0.decrement(1.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A registry of its own, behind the layer, used on this thread only.
    fn local() -> (
        ProgramLabel<metrics_exporter_prometheus::PrometheusRecorder>,
        PrometheusHandle,
    ) {
        let recorder = PrometheusBuilder::new()
            .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), &LATENCY_BUCKETS)
            .unwrap()
            .build_recorder();
        let handle = recorder.handle();
        (ProgramLabel::new(recorder), handle)
    }

    #[test]
    fn every_series_gets_the_program_of_its_thread_unless_it_names_one() {
        let (recorder, handle) = local();
        let on = |name: &str| {
            let r = &recorder;
            std::thread::scope(|s| {
                std::thread::Builder::new()
                    .name(name.into())
                    .spawn_scoped(s, || {
                        metrics::with_local_recorder(r, || {
                            metrics::counter!("t_total", "k" => "v").increment(1);
                            metrics::counter!("t_total", "program" => "sim-bf").increment(1);
                        })
                    })
                    .unwrap()
                    .join()
                    .unwrap()
            })
        };
        on("sim-ksd");
        on("sim-ksd");
        on("some-worker");
        let text = handle.render();
        assert!(
            text.contains(r#"t_total{k="v",program="sim-ksd"} 2"#),
            "{text}"
        );
        assert!(text.contains(r#"t_total{program="sim-bf"} 3"#), "{text}");
        let process = format!(r#"t_total{{k="v",program="{}"}} 1"#, process_name());
        assert!(text.contains(&process), "{text}");
    }

    #[test]
    fn latencies_are_histograms_with_bounded_operations() {
        let (recorder, handle) = local();
        metrics::with_local_recorder(&recorder, || {
            let action = sim_wire::Operation::ModtagOpdateringFravaer.soap_action();
            client_call(Timer::start(), Some(&action), "200".into());
            server_request(Timer::start(), Some("urn:made-up:12345"), 500);
            server_request(Timer::start(), None, 404);
        });
        let text = handle.render();
        assert!(
            text.contains(r#"sim_client_call_duration_seconds_bucket{operation="KSD/ModtagOpdateringFravaer",status="200""#),
            "{text}"
        );
        assert!(
            text.contains(
                r#"sim_server_request_duration_seconds_count{operation="other",status="500""#
            ),
            "{text}"
        );
    }

    #[test]
    fn every_contract_names_its_operations() {
        let ky = sim_wire::ky::KyOperation::ALL[0];
        assert_eq!(operation_of_action(Some(&ky.soap_action())), ky.label());
        let star = sim_wire::star::StarOperation::ALL[0];
        assert_eq!(operation_of_action(Some(&star.soap_action())), star.label());
        let bf = sim_wire::besked::BfOperation::SOAP[0];
        assert_eq!(operation_of_action(Some(&bf.soap_action())), bf.label());
        assert_eq!(operation_of_action(Some("\"x\"")), "other");
    }
}
