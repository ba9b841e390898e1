//! Wiring: the three programs' configurations derived from the certificate layout, the bound
//! addresses, the reference data and the seats — a pure function, tested without sockets.
//!
//! Every certificate path comes from [`sim_certs::store::layout`] and every timeout from the
//! [`EcosystemConfig`]; a seat taken by an outside system replaces the simulated program's URL
//! on every path that leads to it, and that program is not started.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context;
use sim_certs::store::layout;
use sim_certs::PkiSpec;
use sim_kit::config::{Endpoint, IdentityFiles, SystemRef};

use super::{EcosystemConfig, Endpoints, Program};

/// The sockets each simulated program listens on, kept so that a restarted program binds them
/// again. A program whose seat an outside system takes has none.
#[derive(Debug, Clone)]
pub struct Addrs {
    /// The platform's data plane and admin API.
    pub sp: (SocketAddr, SocketAddr),
    /// KSD's receiver and admin API; `None` when an outside KSD takes the seat.
    pub ksd: Option<(SocketAddr, SocketAddr)>,
    /// Each vendor instance's receiver.
    pub vendors: BTreeMap<String, SocketAddr>,
    /// The jobcenter process's admin API.
    pub jobcenter_admin: SocketAddr,
    /// STAR's services and admin API (SF1612); `None` without STAR or with an outside one.
    pub star: Option<(SocketAddr, SocketAddr)>,
}

/// What each program is started with, and what `sim up` prints.
#[derive(Debug, Clone)]
pub struct Wiring {
    /// Every address, including the seats taken by outside systems.
    pub endpoints: Endpoints,
    /// The platform's configuration.
    pub sp: sim_sp::Config,
    /// KSD's configuration; `None` when an outside KSD takes the seat.
    pub ksd: Option<sim_ksd::Config>,
    /// The jobcenter vendors' configuration.
    pub jobcenter: sim_jobcenter::Config,
    /// STAR's configuration (SF1612); `None` without STAR or with an outside one.
    pub star: Option<sim_star::Config>,
}

/// The seat name of KSD (`--seat ksd=URL`); vendor seats are named by their instance.
pub const KSD_SEAT: &str = "ksd";

/// The seat name of the platform (`--seat platform=https://host:port`).
pub const PLATFORM_SEAT: &str = "platform";

/// The seat name of KY (SF1690), which the simulated KSD program otherwise hosts.
pub const KY_SEAT: &str = "ky";

/// The seat name of STAR (SF1612): `--seat star=https://host:port/path/WsrmService`.
pub const STAR_SEAT: &str = "star";

fn identity(f: &sim_certs::store::Files) -> IdentityFiles {
    IdentityFiles {
        cert: f.chain.clone(),
        key: f.key.clone(),
    }
}

fn system_ref(spec: &PkiSpec, stem: &str) -> anyhow::Result<SystemRef> {
    let e = spec
        .systems
        .iter()
        .find(|s| s.stem == stem)
        .with_context(|| format!("no system certificate '{stem}'"))?;
    Ok(SystemRef {
        cvr: e.subject.cvr.as_str().to_string(),
        uuid: Some(e.subject.uuid()),
    })
}

/// The platform's service agreements: KSD for every municipality, each vendor instance for the
/// municipalities routed to it (SP-5) — for Sygefravaer and for SF1690's
/// `KontanthjaelpServiceKY` alike (a jobcenter solution sends both).
fn agreements(
    cfg: &EcosystemConfig,
    spec: &PkiSpec,
    ksd_system: &SystemRef,
) -> anyhow::Result<Vec<sim_sp::Agreement>> {
    let mut agreements = vec![sim_sp::Agreement {
        system: ksd_system.clone(),
        municipality: "*".into(),
        service: sim_sp::SERVICE.into(),
    }];
    for v in &cfg.refdata.vendors {
        let system = system_ref(spec, &v.instance)?;
        for m in cfg.refdata.municipalities_of(&v.instance) {
            for service in [sim_sp::SERVICE, sim_wire::ky::SERVICE] {
                agreements.push(sim_sp::Agreement {
                    system: system.clone(),
                    municipality: m.to_string(),
                    service: service.into(),
                });
            }
        }
    }
    // SF1612: KSD may subscribe to STAR's statuses at the Beskedfordeler (TS103-TS105).
    agreements.push(sim_sp::Agreement {
        system: ksd_system.clone(),
        municipality: "*".into(),
        service: sim_sp::BF_SERVICE.into(),
    });
    for (system, municipality) in &cfg.extra_agreements {
        agreements.push(sim_sp::Agreement {
            system: system.clone(),
            municipality: municipality.clone(),
            service: sim_sp::SERVICE.into(),
        });
    }
    Ok(agreements)
}

/// Where everything is: the simulated programs' addresses, replaced by the seats' URLs where
/// outside systems take them.
fn endpoints(cfg: &EcosystemConfig, addrs: &Addrs) -> Endpoints {
    let url = |p: Program, a: &SocketAddr, path: &str| url_of(cfg, p, a, path);
    let http = |p: Program, a: &SocketAddr| format!("http://{}", authority(cfg, p, a));
    let mut seats = cfg.instance_urls.clone();
    if let Some(u) = &cfg.ksd_url {
        seats.insert(KSD_SEAT.to_string(), u.clone());
    }
    if let Some(u) = &cfg.platform_url {
        seats.insert(PLATFORM_SEAT.to_string(), u.clone());
    }
    if let Some(u) = &cfg.ky_url {
        seats.insert(KY_SEAT.to_string(), u.clone());
    }
    if let Some(u) = &cfg.star_url {
        seats.insert(STAR_SEAT.to_string(), u.clone());
    }
    // STAR (SF1612): an outside STAR's WsrmService, the simulated one's, or none.
    let (star, star_admin) = match (&cfg.star_url, &addrs.star) {
        (Some(seat), _) => (seat.clone(), String::new()),
        (None, Some((d, a))) => (
            url(Program::Star, d, sim_star::WSRM_SERVICE_PATH),
            http(Program::Star, a),
        ),
        (None, None) => (String::new(), String::new()),
    };
    // The platform's exposures: an outside platform's, or the simulated one's.
    let (sp_ksd_exposure, sp_jc_exposure, sp_ky_exposure, sp_admin) = match &cfg.platform_url {
        Some(base) => (
            format!("{base}{}", sim_wire::Port::Ksd.platform_path()),
            format!("{base}{}", sim_wire::Port::Jc.platform_path()),
            format!("{base}{}", sim_wire::ky::PLATFORM_PATH),
            String::new(),
        ),
        None => (
            url(
                Program::Sp,
                &addrs.sp.0,
                sim_wire::Port::Ksd.platform_path(),
            ),
            url(Program::Sp, &addrs.sp.0, sim_wire::Port::Jc.platform_path()),
            url(Program::Sp, &addrs.sp.0, sim_wire::ky::PLATFORM_PATH),
            http(Program::Sp, &addrs.sp.1),
        ),
    };
    let sp_bf = match &cfg.platform_url {
        Some(base) => format!("{base}{}", sim_wire::besked::PLATFORM_PATH),
        None => url(Program::Sp, &addrs.sp.0, sim_wire::besked::PLATFORM_PATH),
    };
    let (ksd, ksd_admin) = match (&cfg.ksd_url, &addrs.ksd) {
        (Some(seat), _) => (seat.clone(), String::new()),
        (None, Some((d, a))) => (
            url(Program::Ksd, d, sim_ksd::KSD_PATH),
            http(Program::Ksd, a),
        ),
        (None, None) => (String::new(), String::new()),
    };
    // KY (SF1690) lives in the simulated KSD program (`sim_ksd::ky`); an outside KSD in its
    // seat brings no KY.
    let ky = match (&cfg.ky_url, &cfg.ksd_url, &addrs.ksd) {
        (Some(seat), _, _) => seat.clone(),
        (None, None, Some((d, _))) => url(Program::Ksd, d, sim_ksd::ky::KY_PATH),
        _ => String::new(),
    };
    Endpoints {
        sp_ksd_exposure,
        sp_jc_exposure,
        sp_ky_exposure,
        sp_bf,
        sp_admin,
        ksd,
        ksd_admin,
        ky,
        vendors: addrs
            .vendors
            .iter()
            .map(|(k, a)| {
                let own = url(Program::Jobcenter, a, sim_jobcenter::JOBCENTER_PATH);
                (k.clone(), cfg.instance_urls.get(k).cloned().unwrap_or(own))
            })
            .collect(),
        jobcenter_admin: http(Program::Jobcenter, &addrs.jobcenter_admin),
        certs_dir: cfg.certs_dir.clone(),
        root_ca: layout::root_ca(&cfg.certs_dir),
        seats,
        seed: cfg.seed,
        star,
        star_admin,
    }
}

/// `https://host:port/path` of program `p`'s socket `a`, as its peers reach it.
fn url_of(cfg: &EcosystemConfig, p: Program, a: &SocketAddr, path: &str) -> String {
    format!("https://{}{path}", authority(cfg, p, a))
}

/// `host:port` of program `p`'s socket `a` as its peers reach it: the program's host name
/// when one is given (`sim serve --host`, compose service names, which the server
/// certificates carry), else the address itself — loopback for one bound to every interface.
fn authority(cfg: &EcosystemConfig, p: Program, a: &SocketAddr) -> String {
    match cfg.hostnames.get(&p) {
        // An IPv6 literal goes in brackets in a URL.
        Some(host) if host.contains(':') && !host.starts_with('[') => {
            format!("[{host}]:{}", a.port())
        }
        Some(host) => format!("{host}:{}", a.port()),
        None if a.ip().is_unspecified() => {
            let loopback: std::net::IpAddr = if a.is_ipv6() {
                std::net::Ipv6Addr::LOCALHOST.into()
            } else {
                std::net::Ipv4Addr::LOCALHOST.into()
            };
            SocketAddr::new(loopback, a.port()).to_string()
        }
        None => a.to_string(),
    }
}

/// The most events the ecosystem's STAR puts in one sequence (SF1612, defined here).
pub const STAR_SEQUENCE_LIMIT: u64 = 1_000;

/// KSD's subscription id at the Beskedfordeler (SF1612): fixed by the wiring from the seed, so
/// that KSD knows what to pull before the platform has made it.
pub fn ksd_subscription(seed: u64) -> String {
    sim_kit::ids::IdStream::new(seed, "ecosystem/ksd-subscription", 0)
        .next_uuid()
        .to_string()
}

/// Derives every program's configuration. Pure: reads no file, binds no socket.
pub fn derive(cfg: &EcosystemConfig, spec: &PkiSpec, addrs: &Addrs) -> anyhow::Result<Wiring> {
    let dir = &cfg.certs_dir;
    let trust: Vec<PathBuf> = std::iter::once(layout::root_ca(dir))
        .chain(cfg.extra_client_trust.iter().cloned())
        .collect();
    let endpoints = endpoints(cfg, addrs);
    // SF1612 is on with the simulated STAR or an outside one in its seat.
    let star_on = cfg.star.is_some() || cfg.star_url.is_some();
    let kombit = system_ref(spec, "kombit")?;
    let ksd_system = match &cfg.ksd_system {
        Some(s) => s.clone(),
        None => system_ref(spec, "ksd")?,
    };
    let sp = sim_sp::Config {
        state_dir: cfg.state_dir.join("sp"),
        server: identity(&layout::server(dir, "sp")),
        client_trust: trust.clone(),
        kombit: identity(&layout::system(dir, "kombit")),
        server_trust: trust
            .iter()
            .chain(&cfg.extra_server_trust)
            .cloned()
            .collect(),
        // KSD's seat: the simulated KSD's receiver, or the outside KSD's URL.
        ksd: Endpoint {
            url: endpoints.ksd.clone(),
        },
        // KY's receiver (SF1690); none with an outside KSD in its seat: SP-4 for KY calls.
        ky: (!endpoints.ky.is_empty()).then(|| Endpoint {
            url: endpoints.ky.clone(),
        }),
        ksd_system: ksd_system.clone(),
        instances: endpoints
            .vendors
            .iter()
            .map(|(k, u)| (k.clone(), Endpoint { url: u.clone() }))
            .collect(),
        routing: cfg
            .refdata
            .routing
            .iter()
            .map(|(c, i)| (c.to_string(), i.clone()))
            .collect(),
        agreements: agreements(cfg, spec, &ksd_system)?,
        call_timeout_ms: cfg.call_timeout_ms,
        max_in_flight: cfg.max_in_flight,
        max_in_flight_per_caller: cfg.max_in_flight_per_caller,
        seed: cfg.seed,
        admin_token: cfg.admin_token.clone(),
        journal_retention: cfg.journal_retention,
        star: (!endpoints.star.is_empty()).then(|| sim_sp::star_job::StarJobConfig {
            url: endpoints.star.clone(),
            every_ms: cfg.star_job_every_ms,
            timeout_ms: 60_000,
        }),
        beskedfordeler: sim_sp::BeskedfordelerConfig {
            amqp: cfg.bf_amqp.clone(),
            subscriptions: match (&addrs.ksd, star_on) {
                (Some((ksd_data, _)), true) => vec![sim_bf::NewSubscription {
                    subscriber_cvr: ksd_system.cvr.clone(),
                    beskedtype: None,
                    value_list: None,
                    push_url: (cfg.star_delivery == sim_ksd::Sf1612Delivery::Push)
                        .then(|| url_of(cfg, Program::Ksd, ksd_data, sim_ksd::BF_PUSH_PATH)),
                    id: Some(ksd_subscription(cfg.seed)),
                }],
                _ => Vec::new(),
            },
        },
        clock: cfg.clock.clone(),
        faults: cfg.faults.clone(),
    };
    let ksd = match (&cfg.ksd_url, addrs.ksd) {
        (None, Some(_)) => Some(sim_ksd::Config {
            state_dir: cfg.state_dir.join("ksd"),
            server: identity(&layout::server(dir, "ksd")),
            client_trust: trust.clone(),
            identity: identity(&layout::system(dir, "ksd")),
            server_trust: trust.clone(),
            platform: Endpoint {
                url: endpoints.sp_jc_exposure.clone(),
            },
            platform_system: kombit.clone(),
            ksd_system_uuid: system_ref(spec, "ksd")?.uuid.unwrap_or_default(),
            receipt_delay_ms: cfg.receipt_delay_ms,
            duration: cfg.ksd_duration,
            call_timeout_ms: cfg.call_timeout_ms,
            seed: cfg.seed,
            admin_token: cfg.admin_token.clone(),
            journal_retention: cfg.journal_retention,
            sf1612: star_on.then(|| sim_ksd::Sf1612Config {
                beskedfordeler: Endpoint {
                    url: endpoints.sp_bf.clone(),
                },
                abonnement_id: ksd_subscription(cfg.seed),
                delivery: cfg.star_delivery,
                amqp: cfg.bf_amqp.clone(),
                vaerdiliste: sim_wire::besked::VAERDILISTE_SYGEMELDINGSSTATUS.to_string(),
                poll_ms: 200,
            }),
            clock: cfg.clock.clone(),
            faults: cfg.faults.clone(),
        }),
        _ => None,
    };
    let (trust_for_star, kombit_cvr) = (trust.clone(), kombit.cvr.clone());
    let mut vendors = Vec::new();
    for v in &cfg.refdata.vendors {
        vendors.push(sim_jobcenter::VendorConfig {
            instance: v.instance.clone(),
            vendor: v.vendor.clone(),
            identity: identity(&layout::system(dir, &v.instance)),
            system_uuid: system_ref(spec, &v.instance)?.uuid.unwrap_or_default(),
            municipalities: cfg
                .refdata
                .municipalities_of(&v.instance)
                .iter()
                .map(ToString::to_string)
                .collect(),
            policy: cfg
                .vendor_policies
                .get(&v.instance)
                .cloned()
                .unwrap_or_default(),
        });
    }
    let jobcenter = sim_jobcenter::Config {
        state_dir: cfg.state_dir.join("jobcenter"),
        server: identity(&layout::server(dir, "jobcenter")),
        client_trust: trust.clone(),
        server_trust: trust,
        platform: Endpoint {
            url: endpoints.sp_ksd_exposure.clone(),
        },
        // SF1690: the platform's KY exposure, told as the KSD one is.
        ky_platform: Some(Endpoint {
            url: endpoints.sp_ky_exposure.clone(),
        }),
        kombit_system: kombit,
        vendors,
        call_timeout_ms: cfg.call_timeout_ms,
        max_send_attempts: cfg.max_send_attempts,
        resend_max_backoff_ms: cfg.resend_max_backoff_ms,
        seed: cfg.seed,
        admin_token: cfg.admin_token.clone(),
        journal_retention: cfg.journal_retention,
        clock: cfg.clock.clone(),
        faults: cfg.faults.clone(),
        vendor_faults: cfg.vendor_faults.clone(),
    };
    // STAR is called by the platform with KOMBIT's certificate (SP-7 as for every receiver);
    // its ServiceEndpoint answers point back at its own listener.
    let star = match (&cfg.star, &cfg.star_url, addrs.star) {
        (Some(events), None, Some((data, _))) => Some(sim_star::Config {
            state_dir: cfg.state_dir.join("star"),
            server: identity(&layout::server(dir, "star")),
            client_trust: trust_for_star,
            allowed_caller_cvrs: vec![kombit_cvr],
            public_url: format!("https://{}", authority(cfg, Program::Star, &data)),
            events: events.clone(),
            // Defined here (STAR's own figure is not public): three job periods, at least 15
            // minutes — a sequence its job abandoned (the platform crashed mid-run) comes back
            // within a few runs, and a live job never comes near it.
            sequence_timeout_ms: cfg.star_sequence_timeout_ms.unwrap_or(
                (3 * cfg.star_job_every_ms).clamp(
                    15 * 60 * 1000,
                    sim_star::config::DEFAULT_SEQUENCE_TIMEOUT_MS,
                ),
            ),
            // Defined here (STAR's own limit is not public): a sequence holds at most 1,000
            // events, so a backlog (a long outage, or the clock jumping at speed max) comes in
            // answers a fetch can carry; the job asks again at once while sequences are full.
            max_events_per_sequence: Some(STAR_SEQUENCE_LIMIT),
            journal_retention: cfg.journal_retention,
            admin_token: cfg.admin_token.clone(),
            clock: cfg.clock.clone(),
            faults: cfg.faults.clone(),
            star_faults: cfg.star_faults.clone(),
        }),
        _ => None,
    };
    Ok(Wiring {
        endpoints,
        sp,
        ksd,
        jobcenter,
        star,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::refdata::RefData;

    fn addr(port: u16) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], port))
    }

    fn addrs(cfg: &EcosystemConfig, with_ksd: bool) -> Addrs {
        Addrs {
            sp: (addr(1), addr(2)),
            ksd: with_ksd.then(|| (addr(3), addr(4))),
            vendors: cfg
                .refdata
                .vendors
                .iter()
                .enumerate()
                .map(|(i, v)| (v.instance.clone(), addr(10 + i as u16)))
                .collect(),
            jobcenter_admin: addr(5),
            star: None,
        }
    }

    fn wire(tweak: impl FnOnce(&mut EcosystemConfig)) -> Wiring {
        let refdata = RefData::embedded().unwrap();
        let mut cfg = EcosystemConfig::new(std::path::Path::new("/state"), refdata);
        tweak(&mut cfg);
        let spec = PkiSpec::standard(&cfg.refdata.vendors, false);
        let a = addrs(&cfg, cfg.ksd_url.is_none());
        derive(&cfg, &spec, &a).unwrap()
    }

    #[test]
    fn the_simulated_parties_call_each_other_sp1_sp7() {
        let w = wire(|_| {});
        assert_eq!(w.sp.ksd.url, "https://127.0.0.1:3/ksd/Sygefravaer/2");
        let ksd = w.ksd.expect("the simulated KSD runs");
        assert_eq!(ksd.platform.url, w.endpoints.sp_jc_exposure);
        assert_eq!(w.jobcenter.platform.url, w.endpoints.sp_ksd_exposure);
        assert!(w.endpoints.seats.is_empty());
        // SP-7: the platform calls out with KOMBIT's certificate, from the layout.
        assert_eq!(
            w.sp.kombit.cert,
            layout::system(std::path::Path::new("/state/certs"), "kombit").chain
        );
    }

    // SF1690: KY lives in the simulated KSD program; the platform passes the KY exposure
    // through to it (SP-13) and every vendor instance has a KontanthjaelpServiceKY agreement
    // for its municipalities (SP-5). An outside KSD brings no KY: no route (SP-4).
    #[test]
    fn ky_is_routed_to_the_simulated_ksd_program_with_agreements_sp5_sp13() {
        let w = wire(|_| {});
        let ky = w.sp.ky.as_ref().expect("a route to KY");
        assert_eq!(ky.url, "https://127.0.0.1:3/ky/Kontanthjaelp/2");
        assert_eq!(w.endpoints.ky, ky.url);
        assert_eq!(
            w.endpoints.sp_ky_exposure,
            "https://127.0.0.1:1/service/KY/Kontanthjaelp/2"
        );
        let refdata = RefData::embedded().unwrap();
        for v in &refdata.vendors {
            let m = refdata.municipalities_of(&v.instance)[0].to_string();
            let services: Vec<&str> =
                w.sp.agreements
                    .iter()
                    .filter(|a| a.municipality == m && a.system.cvr != w.sp.ksd_system.cvr)
                    .map(|a| a.service.as_str())
                    .collect();
            assert!(
                services.contains(&sim_wire::ky::SERVICE),
                "{}: {services:?}",
                v.instance
            );
            assert!(
                services.contains(&sim_sp::SERVICE),
                "{}: {services:?}",
                v.instance
            );
        }
        let outside = wire(|c| c.ksd_url = Some("https://ksd.example:9443/ksd".into()));
        assert!(outside.sp.ky.is_none());
        assert!(outside.endpoints.ky.is_empty());
    }

    #[test]
    fn an_outside_ksd_in_the_seat_is_what_the_platform_calls_and_the_simulated_one_is_off() {
        let w = wire(|c| c.ksd_url = Some("https://ksd.example:9443/real".into()));
        assert_eq!(w.sp.ksd.url, "https://ksd.example:9443/real");
        assert!(w.ksd.is_none(), "the simulated KSD is not started");
        assert_eq!(w.endpoints.ksd, "https://ksd.example:9443/real");
        assert_eq!(
            w.endpoints.seats.get(KSD_SEAT).map(String::as_str),
            Some("https://ksd.example:9443/real")
        );
    }

    #[test]
    fn a_vendor_seat_replaces_that_instance_only_and_is_listed() {
        let w = wire(|c| {
            c.instance_urls
                .insert("kmd-jc".into(), "https://jc.example/recv".into());
        });
        assert_eq!(w.sp.instances["kmd-jc"].url, "https://jc.example/recv");
        assert!(w.sp.instances["schultz-jc"]
            .url
            .starts_with("https://127.0.0.1:"));
        assert_eq!(w.endpoints.vendors["kmd-jc"], "https://jc.example/recv");
        assert_eq!(w.endpoints.seats.len(), 1);
    }

    #[test]
    fn every_timeout_comes_from_the_configuration() {
        let w = wire(|c| c.call_timeout_ms = 1234);
        assert_eq!(w.sp.call_timeout_ms, 1234);
        assert_eq!(w.ksd.unwrap().call_timeout_ms, 1234);
        assert_eq!(w.jobcenter.call_timeout_ms, 1234);
    }
}
