//! The canonical YAML of a validated scenario: every default filled in, every relative
//! instant resolved, every kommunekode turned into its CVR. A run prints it at the start
//! (with the seed and the text's hash) so a report says exactly what ran, and it parses back
//! to the same [`Scenario`] (a test checks that for every shipped file).

use std::fmt::Write;

use crate::calendar::{RecurringWindow, WeekOfMonth};
use crate::schema::{Distribution, FaultParams, Scenario, Selection, Volume};
use crate::units::{format_datetime, format_duration, format_time_of_day};

/// A YAML double-quoted string (JSON escapes are valid YAML escapes).
fn quoted(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if (c as u32) < 0x20 || c == '\u{7f}' => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// An f64 as YAML reads it back to the same value.
fn num(x: f64) -> String {
    let s = format!("{x}");
    if s.contains(['.', 'e', 'E']) || s.contains("inf") || s.contains("NaN") {
        s
    } else {
        format!("{s}.0")
    }
}

fn distribution(d: &Distribution) -> String {
    let cap = |c: &Option<time::Duration>| match c {
        Some(c) => format!(", cap: {}", format_duration(*c)),
        None => String::new(),
    };
    match d {
        Distribution::Fixed(v) => {
            format!("{{distribution: fixed, value: {}}}", format_duration(*v))
        }
        Distribution::Uniform { min, max } => format!(
            "{{distribution: uniform, min: {}, max: {}}}",
            format_duration(*min),
            format_duration(*max)
        ),
        Distribution::Exponential { mean, cap: c } => format!(
            "{{distribution: exponential, mean: {}{}}}",
            format_duration(*mean),
            cap(c)
        ),
        Distribution::Lognormal {
            median,
            p99,
            cap: c,
        } => format!(
            "{{distribution: lognormal, median: {}, p99: {}{}}}",
            format_duration(*median),
            format_duration(*p99),
            cap(c)
        ),
    }
}

fn recurring(name: &str, w: &Option<RecurringWindow>, weekly: bool) -> String {
    let Some(w) = w else {
        return format!("    {name}: {{enabled: false}}\n");
    };
    let week = match (weekly, w.week) {
        (true, _) | (false, WeekOfMonth::Every) => String::new(),
        (false, WeekOfMonth::Nth(n)) => format!(", week: {n}"),
        (false, WeekOfMonth::Last) => ", week: last".into(),
    };
    let months: Vec<String> = w.months.iter().map(|m| m.to_string()).collect();
    format!(
        "    {name}: {{weekday: {}{week}, months: [{}], from: \"{}\", to: \"{}\"}}\n",
        w.weekday.to_string().to_lowercase(),
        months.join(", "),
        format_time_of_day(w.from),
        format_time_of_day(w.to)
    )
}

impl Scenario {
    /// The canonical YAML of this scenario (see the module documentation).
    pub fn to_yaml(&self) -> String {
        let mut y = String::new();
        let _ = writeln!(y, "name: {}", quoted(&self.name));
        let _ = writeln!(y, "description: {}", quoted(&self.description));
        let _ = writeln!(y, "seed: {}", self.seed);
        let _ = writeln!(y, "clock:");
        let _ = writeln!(y, "  start: {}", format_datetime(self.clock.start));
        let _ = writeln!(y, "  duration: {}", format_duration(self.clock.duration));
        let _ = writeln!(y, "  speed: {}", self.clock.speed);
        match &self.municipalities {
            Selection::All => y.push_str("municipalities: all\n"),
            Selection::Only(v) => {
                let items: Vec<String> = v.iter().map(|c| format!("\"{c}\"")).collect();
                let _ = writeln!(y, "municipalities: [{}]", items.join(", "));
            }
        }
        match &self.vendors {
            Selection::All => y.push_str("vendors: all\n"),
            Selection::Only(v) => {
                let items: Vec<String> = v.iter().map(|s| quoted(s)).collect();
                let _ = writeln!(y, "vendors: [{}]", items.join(", "));
            }
        }
        match self.volume {
            Volume::PerMonth(n) => {
                let _ = writeln!(y, "volume: {{per_month: {n}}}");
            }
            Volume::Total(n) => {
                let _ = writeln!(y, "volume: {{total: {n}}}");
            }
        }
        if let Some(c) = &self.cases {
            let volume = match c.volume {
                Volume::PerMonth(n) => format!("per_month: {n}"),
                Volume::Total(n) => format!("total: {n}"),
            };
            let _ = writeln!(
                y,
                "cases: {{{volume}, pensioner_share: {}, min_age_weeks: {}, max_age_weeks: {}}}",
                num(c.pensioner_share),
                c.min_age_weeks,
                c.max_age_weeks
            );
        }
        if let Some(l) = &self.lookups {
            let volume = match l.volume {
                Volume::PerMonth(n) => format!("per_month: {n}"),
                Volume::Total(n) => format!("total: {n}"),
            };
            let _ = writeln!(
                y,
                "lookups: {{{volume}, list_share: {}, adversarial: {}}}",
                num(l.list_share),
                num(l.adversarial)
            );
        }
        if let Some(k) = &self.ky {
            let volume = match k.volume {
                Volume::PerMonth(n) => format!("per_month: {n}"),
                Volume::Total(n) => format!("total: {n}"),
            };
            let _ = writeln!(
                y,
                "ky: {{{volume}, allowance_share: {}}}",
                num(k.allowance_share)
            );
        }
        if let Some(st) = &self.star {
            let volume = match st.volume {
                Volume::PerMonth(n) => format!("per_month: {n}"),
                Volume::Total(n) => format!("total: {n}"),
            };
            let _ = writeln!(
                y,
                "star: {{{volume}, job_every: {}, population: {}, known_share: {}, delivery: {}}}",
                crate::units::format_duration(st.job_every),
                st.population,
                num(st.known_share),
                st.delivery.as_str()
            );
        }
        self.vendor_policies.write_yaml(&mut y, num);
        let hourly: Vec<String> = self.profile.hourly.iter().map(|w| num(*w)).collect();
        let _ = writeln!(y, "profile:");
        let _ = writeln!(y, "  weekend_factor: {}", num(self.profile.weekend_factor));
        let _ = writeln!(y, "  holiday_factor: {}", num(self.profile.holiday_factor));
        let _ = writeln!(y, "  hourly: [{}]", hourly.join(", "));
        let _ = writeln!(y, "receipt_delay: {}", distribution(&self.receipt_delay));
        if self.faults.is_empty() {
            y.push_str("faults: []\n");
        } else {
            y.push_str("faults:\n");
        }
        for r in &self.faults {
            let _ = writeln!(y, "  - name: {}", quoted(&r.name));
            let _ = writeln!(y, "    kind: {}", r.kind);
            let _ = writeln!(y, "    target: {}", quoted(r.target.name()));
            if let FaultParams::Crash { at, downtime } = &r.params {
                let _ = writeln!(y, "    at: {}", format_datetime(*at));
                let _ = writeln!(y, "    downtime: {}", format_duration(*downtime));
                continue;
            }
            // Window-only kinds take no probability (they hit everything while active).
            if !matches!(
                r.kind,
                crate::FaultKind::ServiceWindow | crate::FaultKind::BrokerDown
            ) {
                let _ = writeln!(y, "    probability: {}", num(r.probability));
            }
            let _ = writeln!(
                y,
                "    window: {{from: {}, to: {}}}",
                format_datetime(r.window.from),
                format_datetime(r.window.to)
            );
            match &r.params {
                FaultParams::Delay(d) => {
                    let _ = writeln!(y, "    delay: {}", distribution(d));
                }
                FaultParams::Timeout { after: Some(a) } => {
                    let _ = writeln!(y, "    after: {}", format_duration(*a));
                }
                FaultParams::Codes(codes) => {
                    let c: Vec<String> = codes.iter().map(|c| c.to_string()).collect();
                    let _ = writeln!(y, "    codes: [{}]", c.join(", "));
                }
                FaultParams::Calendar(spec) => {
                    y.push_str(&recurring("weekly", &spec.weekly, true));
                    y.push_str(&recurring("monthly", &spec.monthly, false));
                    y.push_str(&recurring("quarterly", &spec.quarterly, false));
                }
                _ => {}
            }
        }
        if !self.seats.is_empty() {
            y.push_str("seats:\n");
        }
        for seat in &self.seats {
            let _ = writeln!(y, "  {}:", quoted(&seat.name));
            let _ = writeln!(y, "    url: {}", quoted(&seat.url));
            if !seat.trust.is_empty() {
                let t: Vec<String> = seat.trust.iter().map(|t| quoted(t)).collect();
                let _ = writeln!(y, "    trust: [{}]", t.join(", "));
            }
            if let Some(id) = &seat.identity {
                let _ = writeln!(y, "    identity: {}", quoted(id));
            }
        }
        let e = &self.expectations;
        y.push_str("expectations:\n");
        let _ = writeln!(y, "  max_lost: {}", e.max_lost);
        let _ = writeln!(y, "  max_misrouted: {}", e.max_misrouted);
        let _ = writeln!(y, "  max_processed_twice: {}", e.max_processed_twice);
        if let Some(v) = e.max_sla_violations {
            let _ = writeln!(y, "  max_sla_violations: {v}");
        }
        let _ = writeln!(y, "  sla_class: {}", e.sla_class.as_str());
        for (k, v) in [
            ("p50_roundtrip", e.p50_roundtrip),
            ("p99_roundtrip", e.p99_roundtrip),
            ("liveness_deadline", e.liveness_deadline),
        ] {
            if let Some(v) = v {
                let _ = writeln!(y, "  {k}: {}", format_duration(v));
            }
        }
        if let Some(r) = e.min_accepted_ratio {
            let _ = writeln!(y, "  min_accepted_ratio: {}", num(r));
        }
        y
    }
}
