//! Each scraper on the fixture host under `testdata/host1` (a fixed procfs): the exact
//! metrics Go's scrapers produce from the same files.

use std::collections::BTreeMap;
use std::path::PathBuf;

use pdata::proto::common::v1::any_value::Value as AnyV;
use pdata::proto::metrics::v1::{Metric, metric::Data, number_data_point::Value};

use crate::toggles::MetricSwitch;
use crate::*;

const BOOT_NS: u64 = 1_062_191_376 * 1_000_000_000;
const NOW: u64 = 1_700_000_000_000_000_000;

fn host1() -> HostPaths {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("testdata/host1");
    HostPaths::with_env(root.to_str().unwrap(), |_| None)
}

fn read(rel: &str) -> Result<String, String> {
    paths::read(&host1().proc(rel))
}

/// `name unit kind` header lines and `  {attrs} value` point lines; also checks that every
/// point carries the start time and `NOW`.
fn render(metrics: &[Metric], start: u64) -> Vec<String> {
    let mut out = Vec::new();
    for m in metrics {
        let (kind, points) = match &m.data {
            Some(Data::Sum(s)) => {
                assert_eq!(s.aggregation_temporality, 2, "{}: cumulative", m.name);
                (
                    if s.is_monotonic {
                        "sum monotonic"
                    } else {
                        "sum"
                    },
                    &s.data_points,
                )
            }
            Some(Data::Gauge(g)) => ("gauge", &g.data_points),
            other => panic!("{}: unexpected data {other:?}", m.name),
        };
        out.push(format!("{} {} {kind}", m.name, m.unit));
        for p in points {
            assert_eq!(p.start_time_unix_nano, start, "{} start time", m.name);
            assert_eq!(p.time_unix_nano, NOW, "{} time", m.name);
            let attrs: Vec<String> = p
                .attributes
                .iter()
                .map(|kv| {
                    let v = match kv.value.as_ref().and_then(|v| v.value.as_ref()) {
                        Some(AnyV::StringValue(s)) => s.clone(),
                        Some(AnyV::IntValue(i)) => i.to_string(),
                        other => format!("{other:?}"),
                    };
                    format!("{}={v}", kv.key)
                })
                .collect();
            let v = match p.value {
                Some(Value::AsInt(i)) => format!("{i}i"),
                Some(Value::AsDouble(d)) => format!("{d}"),
                None => "none".into(),
            };
            out.push(format!("  {{{}}} {v}", attrs.join(",")));
        }
    }
    out
}

fn switches(pairs: &[(&str, bool)]) -> MetricsConfig {
    pairs
        .iter()
        .map(|(n, on)| (n.to_string(), Some(MetricSwitch { enabled: Some(*on) })))
        .collect::<BTreeMap<_, _>>()
}

#[test]
fn root_path_puts_proc_and_sys_under_it_and_host_proc_wins() {
    let p = HostPaths::with_env("/hostfs", |_| None);
    assert_eq!(p.proc, PathBuf::from("/hostfs/proc"));
    assert_eq!(p.sys, PathBuf::from("/hostfs/sys"));
    assert_eq!(p.host_path("/var/lib"), PathBuf::from("/hostfs/var/lib"));
    let p = HostPaths::with_env("/hostfs", |k| {
        (k == "HOST_PROC").then(|| "/elsewhere".into())
    });
    assert_eq!(p.proc, PathBuf::from("/elsewhere"));
    assert_eq!(p.sys, PathBuf::from("/hostfs/sys"));
    let p = HostPaths::with_env("/hostfs", |k| {
        (k == "HOST_PROC_MOUNTINFO").then(|| "/hostfs/proc/self/mountinfo".into())
    });
    assert_eq!(
        p.mountinfo,
        Some(PathBuf::from("/hostfs/proc/self/mountinfo"))
    );
    let p = HostPaths::with_env("/", |_| None);
    assert_eq!(p.proc, PathBuf::from("/proc"));
    assert_eq!(p.root, None);
}

#[test]
fn validate_root_path_refuses_a_missing_directory_as_go_does() {
    assert_eq!(validate_root_path(""), Ok(()));
    assert_eq!(validate_root_path("/"), Ok(()));
    assert_eq!(
        validate_root_path("/does/not/exist"),
        Err("invalid root_path: stat /does/not/exist: no such file or directory".into())
    );
}

#[test]
fn boot_time_is_btime_of_proc_stat() {
    assert_eq!(paths::boot_time(&host1()), Ok(1_062_191_376));
}

#[test]
fn cpu_time_per_cpu_and_state_in_seconds_from_proc_stat() {
    let mut s = cpu::CpuScraper::new(&cpu::Config::default(), &host1()).unwrap();
    s.set_start(BOOT_NS, 100.0);
    let out = s.scrape_texts(NOW, read("stat"), None);
    assert!(out.errors.is_empty(), "{:?}", out.errors);
    let (res, metrics) = &out.resources[0];
    assert!(res.is_empty(), "no resource attributes");
    assert_eq!(
        render(metrics, BOOT_NS),
        [
            "system.cpu.time s sum monotonic",
            "  {cpu=cpu0,state=user} 11.32",
            "  {cpu=cpu0,state=system} 14.41",
            "  {cpu=cpu0,state=idle} 113117.18",
            "  {cpu=cpu0,state=interrupt} 1.27",
            "  {cpu=cpu0,state=nice} 0.34",
            "  {cpu=cpu0,state=softirq} 4.38",
            "  {cpu=cpu0,state=steal} 0.05",
            "  {cpu=cpu0,state=wait} 36.75",
            "  {cpu=cpu1,state=user} 11.23",
            "  {cpu=cpu1,state=system} 8.49",
            "  {cpu=cpu1,state=idle} 113138.45",
            "  {cpu=cpu1,state=interrupt} 0",
            "  {cpu=cpu1,state=nice} 0",
            "  {cpu=cpu1,state=softirq} 0.18",
            "  {cpu=cpu1,state=steal} 0.03",
            "  {cpu=cpu1,state=wait} 26.14",
        ]
    );
}

#[test]
fn cpu_utilization_is_each_state_delta_over_the_total_delta_from_the_second_scrape_on() {
    let cfg = cpu::Config {
        metrics: switches(&[("system.cpu.time", false), ("system.cpu.utilization", true)]),
    };
    let mut s = cpu::CpuScraper::new(&cfg, &host1()).unwrap();
    s.set_start(BOOT_NS, 100.0);
    let first = s.scrape_texts(NOW, Ok("cpu0 100 0 100 800 0 0 0 0 0 0\n".into()), None);
    assert!(first.resources.is_empty(), "nothing before a second scrape");
    let second = s.scrape_texts(NOW, Ok("cpu0 150 0 150 1100 0 0 0 0 0 0\n".into()), None);
    assert_eq!(
        render(&second.resources[0].1, BOOT_NS),
        [
            "system.cpu.utilization 1 gauge",
            "  {cpu=cpu0,state=user} 0.125",
            "  {cpu=cpu0,state=system} 0.125",
            "  {cpu=cpu0,state=idle} 0.75",
            "  {cpu=cpu0,state=interrupt} 0",
            "  {cpu=cpu0,state=nice} 0",
            "  {cpu=cpu0,state=softirq} 0",
            "  {cpu=cpu0,state=steal} 0",
            "  {cpu=cpu0,state=wait} 0",
        ]
    );
}

#[test]
fn cpu_optional_frequency_and_counts_from_proc_cpuinfo() {
    let cfg = cpu::Config {
        metrics: switches(&[
            ("system.cpu.time", false),
            ("system.cpu.frequency", true),
            ("system.cpu.logical.count", true),
            ("system.cpu.physical.count", true),
        ]),
    };
    let mut s = cpu::CpuScraper::new(&cfg, &host1()).unwrap();
    s.set_start(BOOT_NS, 100.0);
    let out = s.scrape_texts(NOW, Ok(String::new()), Some(read("cpuinfo")));
    assert_eq!(
        render(&out.resources[0].1, BOOT_NS),
        [
            "system.cpu.frequency Hz gauge",
            "  {cpu=cpu0} 2400000000",
            "  {cpu=cpu1} 2600500000",
            "system.cpu.logical.count {cpu} sum",
            "  {} 2i",
            "system.cpu.physical.count {cpu} sum",
            "  {} 1i",
        ]
    );
}

#[test]
fn unknown_metric_names_are_refused() {
    let cfg = cpu::Config {
        metrics: switches(&[("system.cpu.tme", true), ("system.cpu.zz", true)]),
    };
    assert_eq!(
        ScraperConfig::Cpu(cfg).validate().unwrap_err(),
        "metrics: has invalid keys: system.cpu.tme, system.cpu.zz"
    );
}

#[test]
fn a_metric_named_without_a_value_keeps_its_default() {
    let mut metrics = MetricsConfig::new();
    metrics.insert("system.cpu.time".into(), None);
    metrics.insert(
        "system.cpu.utilization".into(),
        Some(MetricSwitch::default()),
    );
    let e = toggles::Enabled::new(cpu::METRICS, &metrics, "metrics").unwrap();
    assert!(e.on(0));
    assert!(!e.on(1));
}

#[test]
fn memory_usage_states_with_used_from_mem_available_and_cached_with_sreclaimable() {
    let mut s = memory::MemoryScraper::new(&memory::Config::default(), &host1()).unwrap();
    s.set_start(BOOT_NS, 4096);
    let out = s.scrape_text(NOW, read("meminfo"));
    assert!(out.errors.is_empty());
    assert_eq!(
        render(&out.resources[0].1, BOOT_NS),
        [
            "system.memory.usage By sum",
            // 8048000 kB - 4096000 kB
            "  {state=used} 4046848000i",
            "  {state=free} 1048576000i",
            "  {state=buffered} 209715200i",
            // Cached 2048000 kB + SReclaimable 307200 kB
            "  {state=cached} 2411724800i",
            "  {state=slab_reclaimable} 314572800i",
            "  {state=slab_unreclaimable} 104857600i",
        ]
    );
}

#[test]
fn memory_optional_metrics() {
    let cfg = memory::Config {
        metrics: switches(&[
            ("system.memory.usage", false),
            ("system.memory.utilization", true),
            ("system.memory.limit", true),
            ("system.memory.page_size", true),
            ("system.linux.memory.available", true),
            ("system.linux.memory.dirty", true),
            ("system.memory.linux.shared", true),
            ("system.memory.linux.hugepages.usage", true),
            ("system.memory.linux.hugepages.utilization", true),
            ("system.memory.linux.hugepages.limit", true),
        ]),
    };
    let mut s = memory::MemoryScraper::new(&cfg, &host1()).unwrap();
    s.set_start(BOOT_NS, 4096);
    let out = s.scrape_text(NOW, read("meminfo"));
    let r = render(&out.resources[0].1, BOOT_NS);
    assert_eq!(
        r,
        [
            "system.linux.memory.available By sum",
            "  {} 4194304000i",
            "system.linux.memory.dirty By sum",
            "  {} 524288i",
            "system.memory.limit By sum",
            "  {} 8241152000i",
            "system.memory.linux.hugepages.limit {page} sum",
            "  {} 8i",
            "system.memory.linux.hugepages.usage {page} sum",
            "  {system.memory.linux.hugepages.state=free} 6i",
            "  {system.memory.linux.hugepages.state=used} 2i",
            "system.memory.linux.hugepages.utilization 1 gauge",
            "  {system.memory.linux.hugepages.state=free} 0.75",
            "  {system.memory.linux.hugepages.state=used} 0.25",
            "system.memory.linux.shared By sum",
            "  {} 104857600i",
            "system.memory.page_size By gauge",
            "  {} 4096i",
            "system.memory.utilization 1 gauge",
            "  {state=used} 0.49105367793240556",
            "  {state=free} 0.1272365805168986",
            "  {state=buffered} 0.025447316103379723",
            "  {state=cached} 0.2926441351888668",
            "  {state=slab_reclaimable} 0.038170974155069586",
            "  {state=slab_unreclaimable} 0.012723658051689861",
        ]
    );
}

#[test]
fn load_averages_from_proc_loadavg_and_cpu_average_divides_by_cpus() {
    let mut s = load::LoadScraper::new(&load::Config::default(), &host1()).unwrap();
    s.set_start(BOOT_NS, 2.0);
    let out = s.scrape_text(NOW, read("loadavg"));
    assert_eq!(
        render(&out.resources[0].1, BOOT_NS),
        [
            "system.cpu.load_average.15m {thread} gauge",
            "  {} 0.59",
            "system.cpu.load_average.1m {thread} gauge",
            "  {} 0.52",
            "system.cpu.load_average.5m {thread} gauge",
            "  {} 0.58",
        ]
    );
    let cfg = load::Config {
        cpu_average: true,
        metrics: switches(&[
            ("system.cpu.load_average.5m", false),
            ("system.cpu.load_average.15m", false),
        ]),
    };
    let mut s = load::LoadScraper::new(&cfg, &host1()).unwrap();
    s.set_start(BOOT_NS, 2.0);
    let out = s.scrape_text(NOW, read("loadavg"));
    assert_eq!(
        render(&out.resources[0].1, BOOT_NS),
        ["system.cpu.load_average.1m {thread} gauge", "  {} 0.26"]
    );
}

fn network_input() -> network::NetworkInput {
    network::NetworkInput {
        dev: read("net/dev"),
        tcp: Ok(vec![read("net/tcp").unwrap(), read("net/tcp6").unwrap()]),
        conntrack: None,
    }
}

#[test]
fn network_counters_per_interface_and_tcp_connections_by_state() {
    let cfg = network::Config {
        exclude: Some(network::InterfaceMatch {
            match_type: "regexp".into(),
            interfaces: vec!["^docker".into()],
            ..Default::default()
        }),
        ..Default::default()
    };
    let mut s = network::NetworkScraper::new(&cfg, &host1()).unwrap();
    s.set_start(BOOT_NS);
    let out = s.scrape_input(NOW, network_input());
    assert!(out.errors.is_empty());
    assert_eq!(
        render(&out.resources[0].1, BOOT_NS),
        [
            "system.network.connections {connections} sum",
            "  {protocol=tcp,state=CLOSE} 0i",
            "  {protocol=tcp,state=CLOSE_WAIT} 0i",
            "  {protocol=tcp,state=CLOSING} 0i",
            "  {protocol=tcp,state=DELETE} 0i",
            "  {protocol=tcp,state=ESTABLISHED} 2i",
            "  {protocol=tcp,state=FIN_WAIT_1} 0i",
            "  {protocol=tcp,state=FIN_WAIT_2} 0i",
            "  {protocol=tcp,state=LAST_ACK} 0i",
            "  {protocol=tcp,state=LISTEN} 2i",
            "  {protocol=tcp,state=SYN_RECV} 1i",
            "  {protocol=tcp,state=SYN_SENT} 0i",
            "  {protocol=tcp,state=TIME_WAIT} 1i",
            "system.network.dropped {packets} sum monotonic",
            "  {device=lo,direction=transmit} 0i",
            "  {device=lo,direction=receive} 0i",
            "  {device=eth0,direction=transmit} 2i",
            "  {device=eth0,direction=receive} 7i",
            "system.network.errors {errors} sum monotonic",
            "  {device=lo,direction=transmit} 0i",
            "  {device=lo,direction=receive} 0i",
            "  {device=eth0,direction=transmit} 1i",
            "  {device=eth0,direction=receive} 3i",
            "system.network.io By sum monotonic",
            "  {device=lo,direction=transmit} 1234567i",
            "  {device=lo,direction=receive} 1234567i",
            "  {device=eth0,direction=transmit} 11223344i",
            "  {device=eth0,direction=receive} 99887766i",
            "system.network.packets {packets} sum monotonic",
            "  {device=lo,direction=transmit} 8910i",
            "  {device=lo,direction=receive} 8910i",
            "  {device=eth0,direction=transmit} 33221i",
            "  {device=eth0,direction=receive} 55443i",
        ]
    );
}

#[test]
fn network_include_strict_keeps_only_named_interfaces_and_conntrack_is_optional() {
    let cfg = network::Config {
        include: Some(network::InterfaceMatch {
            match_type: "strict".into(),
            interfaces: vec!["lo".into()],
            ..Default::default()
        }),
        metrics: switches(&[
            ("system.network.connections", false),
            ("system.network.dropped", false),
            ("system.network.errors", false),
            ("system.network.packets", false),
            ("system.network.conntrack.count", true),
            ("system.network.conntrack.max", true),
        ]),
        ..Default::default()
    };
    let mut s = network::NetworkScraper::new(&cfg, &host1()).unwrap();
    s.set_start(BOOT_NS);
    let mut input = network_input();
    input.conntrack = Some(Ok((42, 65536)));
    let out = s.scrape_input(NOW, input);
    assert_eq!(
        render(&out.resources[0].1, BOOT_NS),
        [
            "system.network.conntrack.count {entries} sum",
            "  {} 42i",
            "system.network.conntrack.max {entries} sum",
            "  {} 65536i",
            "system.network.io By sum monotonic",
            "  {device=lo,direction=transmit} 1234567i",
            "  {device=lo,direction=receive} 1234567i",
        ]
    );
}

#[test]
fn network_filter_with_a_bad_match_type_is_refused_with_go_wording() {
    let cfg = network::Config {
        include: Some(network::InterfaceMatch {
            match_type: "glob".into(),
            interfaces: vec!["lo".into()],
            ..Default::default()
        }),
        ..Default::default()
    };
    assert_eq!(
        ScraperConfig::Network(cfg).validate().unwrap_err(),
        "error creating network interface include filters: unrecognized match_type: 'glob', valid types are: [regexp strict]"
    );
}

#[test]
fn a_scraper_reports_a_missing_file_as_a_partial_error_and_no_metrics() {
    let mut s = load::LoadScraper::new(&load::Config::default(), &host1()).unwrap();
    let out = s.scrape_text(NOW, paths::read(&host1().proc("nope")));
    assert!(out.resources.is_empty());
    assert_eq!(out.errors.len(), 1);
    assert!(
        out.errors[0]
            .message
            .ends_with("/proc/nope: no such file or directory"),
        "{}",
        out.errors[0].message
    );
    assert_eq!(out.errors[0].failed, 3);
}

#[test]
fn whole_scrapers_read_the_fixture_host_through_root_path() {
    for cfg in [
        ScraperConfig::Cpu(Default::default()),
        ScraperConfig::Disk(Default::default()),
        ScraperConfig::Memory(Default::default()),
        ScraperConfig::Load(Default::default()),
        ScraperConfig::Network(Default::default()),
        ScraperConfig::Paging(Default::default()),
        ScraperConfig::Processes(Default::default()),
        ScraperConfig::System(Default::default()),
    ] {
        let mut s = cfg.build(&host1()).unwrap();
        s.start().unwrap();
        let out = s.scrape();
        assert!(out.errors.is_empty(), "{}: {:?}", cfg.key(), out.errors);
        assert!(out.data_points() > 0, "{}", cfg.key());
        let rm = out.into_resource_metrics(cfg.key(), "1.2.3");
        let scope = rm[0].scope_metrics[0].scope.as_ref().unwrap();
        assert_eq!(
            scope.name,
            format!(
                "github.com/open-telemetry/opentelemetry-collector-contrib/receiver/hostmetricsreceiver/internal/scraper/{}scraper",
                cfg.key()
            )
        );
        assert_eq!(scope.version, "1.2.3");
    }
}

fn fake_usage(path: &std::path::Path) -> Result<filesystem::Usage, String> {
    match path.to_str() {
        Some(p) if p.ends_with("/host1/") || p.ends_with("/host1") => Ok(filesystem::Usage {
            total: 1000,
            free: 300,
            used: 650,
            inodes_used: 70,
            inodes_free: 30,
        }),
        Some(p) if p.ends_with("/boot/efi") => Ok(filesystem::Usage {
            total: 100,
            free: 60,
            used: 40,
            inodes_used: 0,
            inodes_free: 0,
        }),
        Some(p) => Err(format!("statvfs {p}: no such file")),
        None => Err("path".into()),
    }
}

#[test]
fn filesystem_mounts_of_physical_types_with_space_and_inodes_read_under_root_path() {
    let mut s =
        filesystem::FilesystemScraper::new(&filesystem::Config::default(), &host1()).unwrap();
    s.set_start(BOOT_NS, fake_usage);
    let out = s.scrape();
    // the bind mount of /data is read under the root path too and fails there
    assert_eq!(out.errors.len(), 1, "{:?}", out.errors);
    assert!(
        out.errors[0]
            .message
            .starts_with("failed to read usage at ")
    );
    assert!(out.errors[0].message.contains("/host1/mnt/my data: "));
    // the scrape time is the wall clock here; check the shapes and values only
    let metrics = &out.resources[0].1;
    let names: Vec<&str> = metrics.iter().map(|m| m.name.as_str()).collect();
    assert_eq!(
        names,
        ["system.filesystem.inodes.usage", "system.filesystem.usage"]
    );
    let Some(Data::Sum(sum)) = &metrics[1].data else {
        panic!()
    };
    let rendered: Vec<String> = sum
        .data_points
        .iter()
        .map(|p| {
            let a: Vec<String> = p
                .attributes
                .iter()
                .map(
                    |kv| match kv.value.as_ref().and_then(|v| v.value.as_ref()) {
                        Some(AnyV::StringValue(s)) => format!("{}={s}", kv.key),
                        _ => String::new(),
                    },
                )
                .collect();
            let Some(Value::AsInt(v)) = p.value else {
                panic!()
            };
            format!("{{{}}} {v}", a.join(","))
        })
        .collect();
    assert_eq!(
        rendered,
        [
            "{device=/dev/vda1,mode=rw,mountpoint=/,type=ext4,state=used} 650",
            "{device=/dev/vda1,mode=rw,mountpoint=/,type=ext4,state=free} 300",
            "{device=/dev/vda1,mode=rw,mountpoint=/,type=ext4,state=reserved} 50",
            "{device=/dev/sda1,mode=ro,mountpoint=/boot/efi,type=vfat,state=used} 40",
            "{device=/dev/sda1,mode=ro,mountpoint=/boot/efi,type=vfat,state=free} 60",
            "{device=/dev/sda1,mode=ro,mountpoint=/boot/efi,type=vfat,state=reserved} 0",
        ]
    );
    assert!(
        sum.data_points
            .iter()
            .all(|p| p.start_time_unix_nano == BOOT_NS)
    );
}

#[test]
fn filesystem_filters_and_virtual_file_systems() {
    let text = read("1/mountinfo").unwrap();
    let physical = filesystem::physical_fs_types(&read("filesystems").unwrap());
    assert_eq!(physical, ["ext4", "vfat"]);
    let all = filesystem::parse_mountinfo(&text, true, &physical);
    assert_eq!(
        all.iter()
            .map(|p| p.mountpoint.as_str())
            .collect::<Vec<_>>(),
        ["/proc", "/", "/dev/shm", "/boot/efi", "/mnt/my data", "/"]
    );
    let cfg = filesystem::Config {
        include_virtual_filesystems: true,
        exclude_fs_types: Some(filesystem::FsTypeMatch {
            match_type: "strict".into(),
            fs_types: vec!["proc".into(), "ext4".into()],
            ..Default::default()
        }),
        metrics: switches(&[
            ("system.filesystem.inodes.usage", false),
            ("system.filesystem.usage", false),
            ("system.filesystem.utilization", true),
        ]),
        ..Default::default()
    };
    let mut s = filesystem::FilesystemScraper::new(&cfg, &host1()).unwrap();
    s.set_start(BOOT_NS, |p| {
        if p.ends_with("shm") {
            Ok(filesystem::Usage {
                total: 200,
                free: 150,
                used: 50,
                ..Default::default()
            })
        } else {
            fake_usage(p)
        }
    });
    let out = s.scrape_partitions(NOW, Ok(all));
    assert!(out.errors.is_empty(), "{:?}", out.errors);
    assert_eq!(
        render(&out.resources[0].1, BOOT_NS),
        [
            "system.filesystem.utilization 1 gauge",
            "  {device=tmpfs,mode=rw,mountpoint=/dev/shm,type=tmpfs} 0.25",
            "  {device=/dev/sda1,mode=ro,mountpoint=/boot/efi,type=vfat} 0.4",
        ]
    );
    let bad = filesystem::Config {
        include_mount_points: Some(filesystem::MountPointMatch {
            match_type: "regexp".into(),
            mount_points: vec!["[".into()],
            ..Default::default()
        }),
        ..Default::default()
    };
    assert_eq!(
        ScraperConfig::Filesystem(Box::new(bad))
            .validate()
            .unwrap_err(),
        "error creating include_mount_points filter: error parsing regexp: missing closing ]: `[`"
    );
}

#[test]
fn disk_counters_per_device_from_proc_diskstats() {
    let cfg = disk::Config {
        exclude: Some(disk::DeviceMatch {
            match_type: "regexp".into(),
            devices: vec!["^loop".into(), "\\d$".into()],
            ..Default::default()
        }),
        ..Default::default()
    };
    let mut s = disk::DiskScraper::new(&cfg, &host1()).unwrap();
    s.set_start(BOOT_NS);
    let out = s.scrape_text(NOW, read("diskstats"));
    assert_eq!(
        render(&out.resources[0].1, BOOT_NS),
        [
            "system.disk.io By sum monotonic",
            "  {device=sda,direction=read} 20480000i",
            "  {device=sda,direction=write} 40960000i",
            "system.disk.io_time s sum monotonic",
            "  {device=sda} 2.5",
            "system.disk.merged {operations} sum monotonic",
            "  {device=sda,direction=read} 20i",
            "  {device=sda,direction=write} 30i",
            "system.disk.operation_time s sum monotonic",
            "  {device=sda,direction=read} 0.5",
            "  {device=sda,direction=write} 1.5",
            "system.disk.operations {operations} sum monotonic",
            "  {device=sda,direction=read} 1000i",
            "  {device=sda,direction=write} 2000i",
            "system.disk.pending_operations {operations} sum",
            "  {device=sda} 1i",
            "system.disk.weighted_io_time s sum monotonic",
            "  {device=sda} 2.1",
        ]
    );
}

#[test]
fn paging_swap_devices_operations_and_faults() {
    let cfg = paging::Config {
        metrics: switches(&[("system.paging.utilization", true)]),
    };
    let mut s = paging::PagingScraper::new(&cfg, &host1()).unwrap();
    s.set_start(BOOT_NS);
    let out = s.scrape_texts(NOW, read("swaps"), read("vmstat"));
    assert_eq!(
        render(&out.resources[0].1, BOOT_NS),
        [
            "system.paging.faults {faults} sum monotonic",
            "  {type=major} 204800i",
            "  {type=minor} 20275200i",
            "system.paging.operations {operations} sum monotonic",
            "  {direction=page_in,type=major} 40960i",
            "  {direction=page_out,type=major} 81920i",
            "  {direction=page_in,type=minor} 4096000i",
            "  {direction=page_out,type=minor} 8192000i",
            "system.paging.usage By sum",
            "  {device=/swapfile,state=used} 536870912i",
            "  {device=/swapfile,state=free} 1610608640i",
            "system.paging.utilization 1 gauge",
            "  {device=/swapfile,state=used} 0.2500004768380677",
            "  {device=/swapfile,state=free} 0.7499995231619323",
        ]
    );
}

#[test]
fn processes_by_status_with_proc_stat_running_and_blocked_and_created() {
    let mut s = processes::ProcessesScraper::new(&processes::Config::default(), &host1()).unwrap();
    s.set_start(BOOT_NS);
    let stats: Vec<String> = processes::pids(&host1())
        .unwrap()
        .into_iter()
        .map(|p| read(&format!("{p}/stat")).unwrap())
        .collect();
    let out = s.scrape_texts(
        NOW,
        Ok(stats.iter().map(String::as_str)),
        read("stat"),
        read("loadavg"),
    );
    // running and blocked from procs_running / procs_blocked of /proc/stat (1 and 0), the
    // rest of loadavg's 469 entities unknown
    assert_eq!(
        render(&out.resources[0].1, BOOT_NS),
        [
            "system.processes.count {processes} sum",
            "  {status=blocked} 0i",
            "  {status=idle} 1i",
            "  {status=running} 1i",
            "  {status=sleeping} 1i",
            "  {status=unknown} 466i",
            "system.processes.created {processes} sum monotonic",
            "  {} 2915i",
        ]
    );
}

#[test]
fn system_uptime_is_whole_seconds_since_boot() {
    let mut s = system::SystemScraper::new(&system::Config::default(), &host1()).unwrap();
    s.set_boot(1_062_191_376);
    let out = s.scrape_at(NOW);
    assert_eq!(
        render(&out.resources[0].1, BOOT_NS),
        ["system.uptime s sum monotonic", "  {} 637808624"]
    );
}

fn resource_text(attrs: &[pdata::proto::common::v1::KeyValue]) -> Vec<String> {
    attrs
        .iter()
        .map(
            |kv| match kv.value.as_ref().and_then(|v| v.value.as_ref()) {
                Some(AnyV::StringValue(s)) => format!("{}={s}", kv.key),
                Some(AnyV::IntValue(i)) => format!("{}={i}i", kv.key),
                other => format!("{}={other:?}", kv.key),
            },
        )
        .collect()
}

#[test]
fn process_resource_attributes_and_default_metrics_per_process() {
    let mut s = process::ProcessScraper::new(&process::Config::default(), &host1()).unwrap();
    s.set_host(1_062_191_376, 100, 4096, 2.0);
    let out = s.scrape_at(NOW);
    // pid 1 and the kernel thread have no executable link in the fixture
    let errors: Vec<&str> = out.errors.iter().map(|e| e.message.as_str()).collect();
    assert_eq!(errors.len(), 2, "{errors:?}");
    assert!(
        errors[0].starts_with("error reading process executable for pid 1: readlink "),
        "{}",
        errors[0]
    );
    assert!(errors[1].contains("pid 43"));
    assert_eq!(out.resources.len(), 1);
    let (resource, metrics) = &out.resources[0];
    assert_eq!(
        resource_text(resource),
        [
            "process.pid=42i",
            "process.parent_pid=1i",
            "process.executable.name=my (odd) proc",
            "process.executable.path=/usr/bin/my-proc",
            "process.command=/usr/bin/my-proc",
            "process.command_line=/usr/bin/my-proc --flag value",
            "process.owner=root",
        ]
    );
    // start time: the process's start, whole seconds after boot (as gopsutil computes it)
    let start = (1_062_191_376 + 5) * 1_000_000_000;
    assert_eq!(
        render(metrics, start),
        [
            "process.cpu.time s sum monotonic",
            "  {state=user} 2.5",
            "  {state=system} 1.5",
            "  {state=wait} 0.3",
            "process.disk.io By sum monotonic",
            "  {direction=read} 4096i",
            "  {direction=write} 8192i",
            "process.memory.usage By sum",
            "  {} 4194304i",
            "process.memory.virtual By sum",
            "  {} 10485760i",
        ]
    );
}

#[test]
fn process_filters_mutes_optional_metrics_and_resource_switches() {
    let mut resource_attributes = ResourceAttributesConfig::new();
    for (k, on) in [
        ("process.command_line", false),
        ("process.owner", false),
        ("process.cgroup", false),
    ] {
        resource_attributes.insert(k.into(), Some(MetricSwitch { enabled: Some(on) }));
    }
    let cfg = process::Config {
        include: Some(process::NameMatch {
            match_type: "regexp".into(),
            names: vec!["^my ".into(), "^systemd$".into()],
            ..Default::default()
        }),
        mute_process_exe_error: true,
        metrics: switches(&[
            ("process.cpu.time", false),
            ("process.disk.io", false),
            ("process.memory.usage", false),
            ("process.memory.virtual", false),
            ("process.paging.faults", true),
            ("process.signals_pending", true),
            ("process.threads", true),
            ("process.context_switches", true),
            ("process.disk.operations", true),
            ("process.uptime", true),
        ]),
        resource_attributes,
        ..Default::default()
    };
    let mut s = process::ProcessScraper::new(&cfg, &host1()).unwrap();
    s.set_host(1_062_191_376, 100, 4096, 2.0);
    let out = s.scrape_at(NOW);
    assert!(out.errors.is_empty(), "{:?}", out.errors);
    assert_eq!(out.resources.len(), 1);
    let (resource, metrics) = &out.resources[0];
    assert_eq!(resource_text(resource).len(), 5);
    let start = (1_062_191_376 + 5) * 1_000_000_000;
    assert_eq!(
        render(metrics, start),
        [
            "process.context_switches {count} sum monotonic",
            "  {type=involuntary} 7i",
            "  {type=voluntary} 150i",
            "process.disk.operations {operations} sum monotonic",
            "  {direction=read} 11i",
            "  {direction=write} 22i",
            "process.paging.faults {faults} sum monotonic",
            "  {type=major} 5i",
            "  {type=minor} 120i",
            "process.signals_pending {signals} sum",
            "  {} 2i",
            "process.threads {threads} sum",
            "  {} 4i",
            "process.uptime s gauge",
            "  {} 637808619",
        ]
    );
    let bad = process::Config {
        metrics: switches(&[("process.cpu.seconds", true)]),
        ..Default::default()
    };
    assert_eq!(
        ScraperConfig::Process(Box::new(bad))
            .validate()
            .unwrap_err(),
        "metrics: has invalid keys: process.cpu.seconds"
    );
}

#[test]
fn process_cpu_utilization_is_the_time_delta_over_wall_time_times_cpus() {
    let cfg = process::Config {
        mute_process_exe_error: true,
        metrics: switches(&[
            ("process.cpu.time", false),
            ("process.disk.io", false),
            ("process.memory.usage", false),
            ("process.memory.virtual", false),
            ("process.cpu.utilization", true),
        ]),
        ..Default::default()
    };
    let mut s = process::ProcessScraper::new(&cfg, &host1()).unwrap();
    s.set_host(1_062_191_376, 100, 4096, 2.0);
    let first = s.scrape_at(NOW);
    assert!(
        first.resources.is_empty(),
        "no utilization before a second scrape"
    );
    // the fixture's times do not move: 0 over 1 s on 2 CPUs
    let second = s.scrape_at(NOW + 1_000_000_000);
    let (_, metrics) = &second.resources[0];
    let Some(Data::Gauge(g)) = &metrics[0].data else {
        panic!()
    };
    assert_eq!(metrics[0].name, "process.cpu.utilization");
    assert_eq!(g.data_points.len(), 3);
    assert!(
        g.data_points
            .iter()
            .all(|p| p.value == Some(Value::AsDouble(0.0)))
    );
}
