//! `system`: the host itself. `host.name` from the first `hostname_sources` entry that answers
//! (`dns`: the FQDN from the hosts file, then the resolver; `os`: the kernel's host name;
//! `cname`; `lookup`: reverse DNS of the host's addresses), `os.type`, and, when enabled,
//! `host.id` (machine-id), `host.arch`, `os.description` (as the OpenTelemetry Go SDK writes
//! it), `os.version`, `host.ip`, `host.mac` (IEEE RA form) and the first CPU's `host.cpu.*`.
//! If every hostname source fails the detector fails, as Go's does.

use std::net::IpAddr;

use serde::Deserialize;

use crate::attrs::{AttrSwitches, Enabled};
use crate::{Ctx, Found, SCHEMA_URL_1_6_1};

pub const ATTRIBUTES: &[(&str, bool)] = &[
    ("host.name", true),
    ("host.id", false),
    ("os.description", false),
    ("os.type", true),
    ("os.version", false),
    ("host.arch", false),
    ("host.ip", false),
    ("host.mac", false),
    ("host.cpu.vendor.id", false),
    ("host.cpu.family", false),
    ("host.cpu.model.id", false),
    ("host.cpu.model.name", false),
    ("host.cpu.stepping", false),
    ("host.cpu.cache.l2.size", false),
];

const SOURCES: &[&str] = &["dns", "os", "cname", "lookup"];

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct Config {
    /// Default `[dns, os]` (applied when empty, as Go does).
    pub hostname_sources: Vec<String>,
    pub resource_attributes: AttrSwitches,
}

impl Config {
    pub fn validate(&self) -> Result<(), String> {
        for s in &self.hostname_sources {
            if !SOURCES.contains(&s.as_str()) {
                return Err(format!("hostname_sources contains invalid value: {s:?}"));
            }
        }
        Ok(())
    }
}

/// Where the detector reads the host (the real files, or a test root).
#[derive(Debug, Clone)]
pub struct HostFiles {
    pub root: std::path::PathBuf,
}

impl Default for HostFiles {
    fn default() -> Self {
        HostFiles { root: "/".into() }
    }
}

impl HostFiles {
    fn read(&self, path: &str) -> std::io::Result<String> {
        std::fs::read_to_string(self.root.join(path.trim_start_matches('/')))
    }
}

pub struct Detector {
    sources: Vec<String>,
    enabled: Enabled,
    pub files: HostFiles,
}

impl Detector {
    pub fn new(cfg: &Config) -> Detector {
        let sources = if cfg.hostname_sources.is_empty() {
            vec!["dns".to_string(), "os".to_string()]
        } else {
            cfg.hostname_sources.clone()
        };
        Detector {
            sources,
            enabled: Enabled::new(ATTRIBUTES, &cfg.resource_attributes),
            files: HostFiles::default(),
        }
    }

    pub(crate) async fn detect(&self, ctx: &Ctx<'_>) -> Result<Found, String> {
        // With the metadata endpoint redirected (tests, CI, benchmarks) no resolver is asked:
        // a DNS query would leave the host. The hosts file is still read.
        let resolver = ctx
            .set
            .env
            .non_empty(crate::METADATA_ENDPOINT_ENV)
            .is_none();
        let os_type = os_type();
        let uname = uname();
        let os_version = uname.release.clone();
        let host_arch = host_arch();
        let e = &self.enabled;
        let host_ips = if e.is("host.ip") {
            host_ips().map_err(|err| format!("failed getting host IP addresses: {err}"))?
        } else {
            Vec::new()
        };
        let host_macs = if e.is("host.mac") {
            self.host_macs()
                .map_err(|err| format!("failed to get host MAC addresses: {err}"))?
        } else {
            Vec::new()
        };
        let os_description = self.os_description(&uname);
        let cpu = if [
            "host.cpu.cache.l2.size",
            "host.cpu.family",
            "host.cpu.model.id",
            "host.cpu.vendor.id",
            "host.cpu.model.name",
            "host.cpu.stepping",
        ]
        .iter()
        .any(|k| e.is(k))
        {
            Some(
                self.files
                    .read("/proc/cpuinfo")
                    .map(|s| first_cpu(&s))
                    .map_err(|err| format!("failed getting host cpuinfo: {err}"))?,
            )
        } else {
            None
        };

        for source in &self.sources {
            let source_c = source.clone();
            let hosts = self.files.read("/etc/hosts").unwrap_or_default();
            let name =
                tokio::task::spawn_blocking(move || hostname_from(&source_c, &hosts, resolver))
                    .await
                    .map_err(|err| format!("hostname lookup failed: {err}"))?;
            match name {
                Ok(hostname) => {
                    let mut b = e.builder();
                    b.str("host.name", hostname);
                    b.str("os.type", os_type);
                    b.str("os.version", os_version);
                    if e.is("host.id") {
                        match self.host_id() {
                            Ok(id) => b.str("host.id", id),
                            Err(err) => tracing::warn!(error = %err, "failed to get host ID"),
                        }
                    }
                    b.str("host.arch", host_arch);
                    b.strs("host.ip", host_ips);
                    b.strs("host.mac", host_macs);
                    b.str("os.description", os_description);
                    if let Some(cpu) = cpu.filter(|c| c.present) {
                        b.str("host.cpu.vendor.id", cpu.vendor_id);
                        b.str("host.cpu.family", cpu.family);
                        if !cpu.model.is_empty() {
                            b.str("host.cpu.model.id", cpu.model);
                        }
                        b.str("host.cpu.model.name", cpu.model_name);
                        b.str("host.cpu.stepping", cpu.stepping.to_string());
                        b.int("host.cpu.cache.l2.size", cpu.cache_size);
                    }
                    return Ok(Found::new(b.finish(), SCHEMA_URL_1_6_1));
                }
                Err(err) => tracing::debug!("{err}"),
            }
        }
        Err("all hostname sources failed to get hostname".into())
    }

    /// The Go SDK's `host.id` on Linux: `/etc/machine-id`, else `/var/lib/dbus/machine-id`.
    fn host_id(&self) -> Result<String, String> {
        for p in ["/etc/machine-id", "/var/lib/dbus/machine-id"] {
            if let Ok(s) = self.files.read(p) {
                let s = s.trim();
                if !s.is_empty() {
                    return Ok(s.to_string());
                }
            }
        }
        Err("host id not found in: /etc/machine-id or /var/lib/dbus/machine-id".into())
    }

    /// The Go SDK's `os.description`: `<os-release name and version> (<uname>)`.
    fn os_description(&self, u: &Uname) -> String {
        let uname = format!(
            "{} {} {} {} {}",
            u.sysname, u.nodename, u.release, u.version, u.machine
        );
        let release = self
            .files
            .read("/etc/os-release")
            .or_else(|_| self.files.read("/usr/lib/os-release"))
            .map(|s| os_release(&s))
            .unwrap_or_default();
        if release.is_empty() {
            uname
        } else {
            format!("{release} ({uname})")
        }
    }

    /// Hardware addresses of the non-loopback interfaces, in interface index order.
    fn host_macs(&self) -> Result<Vec<String>, String> {
        let dir = self.files.root.join("sys/class/net");
        let entries = std::fs::read_dir(&dir).map_err(|e| e.to_string())?;
        let mut found = Vec::new();
        for entry in entries.flatten() {
            let p = entry.path();
            let flags = read_hex(&p.join("flags")).unwrap_or(0);
            if flags & libc::IFF_LOOPBACK as u64 != 0 {
                continue;
            }
            let mac = std::fs::read_to_string(p.join("address")).unwrap_or_default();
            let mac = mac.trim();
            if mac.is_empty() || mac.split(':').all(|o| o == "00") {
                continue;
            }
            let index: u64 = std::fs::read_to_string(p.join("ifindex"))
                .ok()
                .and_then(|s| s.trim().parse().ok())
                .unwrap_or(u64::MAX);
            found.push((index, mac.to_uppercase().replace(':', "-")));
        }
        found.sort();
        Ok(found.into_iter().map(|(_, m)| m).collect())
    }
}

fn read_hex(p: &std::path::Path) -> Option<u64> {
    let s = std::fs::read_to_string(p).ok()?;
    u64::from_str_radix(s.trim().trim_start_matches("0x"), 16).ok()
}

/// `os.type` as semantic conventions spell it.
fn os_type() -> &'static str {
    match std::env::consts::OS {
        "macos" => "darwin",
        other => other,
    }
}

/// `host.arch` as Go's `GOARCH` is mapped by the collector.
fn host_arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "x86" => "x86",
        "aarch64" => "arm64",
        "arm" => "arm32",
        "powerpc64" => "ppc64",
        "powerpc" => "ppc32",
        "s390x" => "s390x",
        other => other,
    }
}

#[derive(Debug, Default, Clone)]
struct Uname {
    sysname: String,
    nodename: String,
    release: String,
    version: String,
    machine: String,
}

fn uname() -> Uname {
    // SAFETY: `uname` fills the zeroed struct; every field is NUL-terminated by the kernel.
    unsafe {
        let mut u: libc::utsname = std::mem::zeroed();
        if libc::uname(&mut u) != 0 {
            return Uname::default();
        }
        let f = |s: &[libc::c_char]| {
            std::ffi::CStr::from_ptr(s.as_ptr())
                .to_string_lossy()
                .into_owned()
        };
        Uname {
            sysname: f(&u.sysname),
            nodename: f(&u.nodename),
            release: f(&u.release),
            version: f(&u.version),
            machine: f(&u.machine),
        }
    }
}

/// The Go SDK's reading of os-release: `NAME VERSION` (or `VERSION_ID`), else `PRETTY_NAME`.
pub fn os_release(s: &str) -> String {
    let get = |key: &str| -> String {
        s.lines()
            .filter_map(|l| l.trim().split_once('='))
            .filter(|(k, _)| k.trim() == key)
            .map(|(_, v)| {
                let v = v.trim();
                let v = v
                    .strip_prefix('"')
                    .and_then(|v| v.strip_suffix('"'))
                    .or_else(|| v.strip_prefix('\'').and_then(|v| v.strip_suffix('\'')))
                    .unwrap_or(v);
                v.to_string()
            })
            .next_back()
            .unwrap_or_default()
    };
    let name = get("NAME");
    let mut version = get("VERSION");
    if version.is_empty() {
        version = get("VERSION_ID");
    }
    if !name.is_empty() && !version.is_empty() {
        format!("{name} {version}")
    } else {
        get("PRETTY_NAME")
    }
}

#[derive(Debug, Default, Clone, PartialEq)]
pub struct CpuInfo {
    present: bool,
    pub vendor_id: String,
    pub family: String,
    pub model: String,
    pub model_name: String,
    pub stepping: i64,
    pub cache_size: i64,
}

/// The first processor of `/proc/cpuinfo`, as gopsutil reads it.
pub fn first_cpu(s: &str) -> CpuInfo {
    let mut c = CpuInfo::default();
    for line in s.lines() {
        let Some((k, v)) = line.split_once(':') else {
            if c.present && line.trim().is_empty() {
                break;
            }
            continue;
        };
        let (k, v) = (k.trim(), v.trim());
        match k {
            "processor" if c.present => break,
            "processor" => c.present = true,
            "vendor_id" | "vendor" => c.vendor_id = v.to_string(),
            "cpu family" => c.family = v.to_string(),
            "model" => c.model = v.to_string(),
            "model name" | "cpu" => c.model_name = v.to_string(),
            "stepping" => c.stepping = v.parse().unwrap_or(0),
            "cache size" => c.cache_size = v.trim_end_matches("KB").trim().parse().unwrap_or(0),
            _ => {}
        }
        if !c.present && !k.is_empty() {
            c.present = true;
        }
    }
    c
}

/// The kernel's host name (Go's `os.Hostname`).
fn os_hostname() -> Result<String, String> {
    let mut buf = [0u8; 256];
    // SAFETY: the buffer is valid for its length; gethostname NUL-terminates within it.
    let rc = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
    if rc != 0 {
        return Err(std::io::Error::last_os_error().to_string());
    }
    let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    Ok(String::from_utf8_lossy(&buf[..end]).into_owned())
}

fn hostname_from(source: &str, hosts: &str, resolver: bool) -> Result<String, String> {
    const NO_RESOLVER: &str = "resolver lookups are off while FERROTEL_METADATA_ENDPOINT is set";
    match source {
        "os" => os_hostname().map_err(|e| format!("failed getting OS hostname: {e}")),
        "dns" if !resolver => {
            let h = os_hostname()?;
            from_hosts(hosts, &h)
                .ok_or_else(|| format!("getFQDN failed getting FQDN: {NO_RESOLVER}"))
        }
        "cname" | "lookup" if !resolver => Err(format!("{source}: {NO_RESOLVER}")),
        "dns" => fqdn(hosts).map_err(|e| format!("getFQDN failed getting FQDN: {e}")),
        "cname" => {
            let h = os_hostname()?;
            canonical_name(&h).map_err(|e| format!("lookupCNAME failed to get CNAME: {e}"))
        }
        "lookup" => {
            reverse_lookup().map_err(|e| format!("reverseLookupHost failed to lookup host: {e}"))
        }
        other => Err(format!("invalid hostname source: {other}")),
    }
}

/// The FQDN as go-fqdn finds it: the canonical name of a hosts-file line naming this host,
/// else the resolver's canonical name, else a reverse lookup of its address.
fn fqdn(hosts: &str) -> Result<String, String> {
    let h = os_hostname()?;
    if let Some(name) = from_hosts(hosts, &h) {
        return Ok(name);
    }
    canonical_name(&h).or_else(|_| reverse_lookup())
}

pub fn from_hosts(hosts: &str, host: &str) -> Option<String> {
    for line in hosts.lines() {
        let line = line.split('#').next().unwrap_or("");
        let mut fields = line.split_whitespace();
        let Some(_addr) = fields.next() else { continue };
        let names: Vec<&str> = fields.collect();
        if names.iter().any(|n| n.eq_ignore_ascii_case(host)) {
            return names.first().map(|n| n.trim_end_matches('.').to_string());
        }
    }
    None
}

fn getaddrinfo(host: &str, flags: libc::c_int) -> Result<(Option<String>, Vec<IpAddr>), String> {
    let c = std::ffi::CString::new(host).map_err(|e| e.to_string())?;
    // SAFETY: hints is zeroed then set; res is freed with freeaddrinfo on every path.
    unsafe {
        let mut hints: libc::addrinfo = std::mem::zeroed();
        hints.ai_flags = flags;
        hints.ai_socktype = libc::SOCK_STREAM;
        let mut res: *mut libc::addrinfo = std::ptr::null_mut();
        let rc = libc::getaddrinfo(c.as_ptr(), std::ptr::null(), &hints, &mut res);
        if rc != 0 {
            let msg = std::ffi::CStr::from_ptr(libc::gai_strerror(rc)).to_string_lossy();
            return Err(format!("lookup {host}: {msg}"));
        }
        let mut canon = None;
        let mut ips = Vec::new();
        let mut p = res;
        while !p.is_null() {
            let ai = &*p;
            if canon.is_none() && !ai.ai_canonname.is_null() {
                canon = Some(
                    std::ffi::CStr::from_ptr(ai.ai_canonname)
                        .to_string_lossy()
                        .into_owned(),
                );
            }
            if let Some(ip) = sockaddr_ip(ai.ai_addr)
                && !ips.contains(&ip)
            {
                ips.push(ip);
            }
            p = ai.ai_next;
        }
        libc::freeaddrinfo(res);
        Ok((canon, ips))
    }
}

/// # Safety
/// `sa` is null or points to a sockaddr of the family it names.
unsafe fn sockaddr_ip(sa: *const libc::sockaddr) -> Option<IpAddr> {
    if sa.is_null() {
        return None;
    }
    // SAFETY: the family field says which sockaddr type this is.
    unsafe {
        match (*sa).sa_family as libc::c_int {
            libc::AF_INET => {
                let s = &*(sa as *const libc::sockaddr_in);
                Some(IpAddr::from(u32::from_be(s.sin_addr.s_addr).to_be_bytes()))
            }
            libc::AF_INET6 => {
                let s = &*(sa as *const libc::sockaddr_in6);
                Some(IpAddr::from(s.sin6_addr.s6_addr))
            }
            _ => None,
        }
    }
}

fn canonical_name(host: &str) -> Result<String, String> {
    match getaddrinfo(host, libc::AI_CANONNAME)? {
        (Some(c), _) if !c.is_empty() => Ok(c.trim_end_matches('.').to_string()),
        _ => Err(format!("lookup {host}: no canonical name")),
    }
}

/// Go's `ReverseLookupHost`: the first name a reverse lookup of the host's addresses gives.
fn reverse_lookup() -> Result<String, String> {
    let h = os_hostname()?;
    let (_, ips) = getaddrinfo(&h, 0)?;
    for ip in ips {
        if let Ok(name) = reverse(ip) {
            return Ok(name.trim_end_matches('.').to_string());
        }
    }
    Err(format!("lookup {h}: no reverse name"))
}

fn reverse(ip: IpAddr) -> Result<String, String> {
    let mut host = [0 as libc::c_char; 1025];
    // SAFETY: the sockaddr is built for its family and outlives the call; host is valid.
    let rc = unsafe {
        match ip {
            IpAddr::V4(v4) => {
                let mut sa: libc::sockaddr_in = std::mem::zeroed();
                sa.sin_family = libc::AF_INET as libc::sa_family_t;
                sa.sin_addr.s_addr = u32::from_be_bytes(v4.octets()).to_be();
                libc::getnameinfo(
                    (&sa as *const libc::sockaddr_in).cast(),
                    std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t,
                    host.as_mut_ptr(),
                    host.len() as libc::socklen_t,
                    std::ptr::null_mut(),
                    0,
                    libc::NI_NAMEREQD,
                )
            }
            IpAddr::V6(v6) => {
                let mut sa: libc::sockaddr_in6 = std::mem::zeroed();
                sa.sin6_family = libc::AF_INET6 as libc::sa_family_t;
                sa.sin6_addr.s6_addr = v6.octets();
                libc::getnameinfo(
                    (&sa as *const libc::sockaddr_in6).cast(),
                    std::mem::size_of::<libc::sockaddr_in6>() as libc::socklen_t,
                    host.as_mut_ptr(),
                    host.len() as libc::socklen_t,
                    std::ptr::null_mut(),
                    0,
                    libc::NI_NAMEREQD,
                )
            }
        }
    };
    if rc != 0 {
        return Err(format!("no reverse name for {ip}"));
    }
    // SAFETY: getnameinfo succeeded and NUL-terminated `host`.
    Ok(unsafe { std::ffi::CStr::from_ptr(host.as_ptr()) }
        .to_string_lossy()
        .into_owned())
}

/// Addresses of the interfaces that are up and not loopback, loopback addresses skipped, in
/// interface index order (Go's `HostIPs` over `net.Interfaces`).
fn host_ips() -> Result<Vec<String>, String> {
    let mut found: Vec<(u32, IpAddr)> = Vec::new();
    // SAFETY: getifaddrs allocates the list, freed below; each node is read only while it lives.
    unsafe {
        let mut list: *mut libc::ifaddrs = std::ptr::null_mut();
        if libc::getifaddrs(&mut list) != 0 {
            return Err(std::io::Error::last_os_error().to_string());
        }
        let mut p = list;
        while !p.is_null() {
            let ifa = &*p;
            let up = ifa.ifa_flags & libc::IFF_UP as libc::c_uint != 0;
            let loopback = ifa.ifa_flags & libc::IFF_LOOPBACK as libc::c_uint != 0;
            if up
                && !loopback
                && let Some(ip) = sockaddr_ip(ifa.ifa_addr)
                && !ip.is_loopback()
            {
                let index = libc::if_nametoindex(ifa.ifa_name);
                if !found.contains(&(index, ip)) {
                    found.push((index, ip));
                }
            }
            p = ifa.ifa_next;
        }
        libc::freeifaddrs(list);
    }
    // Stable: addresses of one interface keep the kernel's order.
    found.sort_by_key(|(index, _)| *index);
    Ok(found.into_iter().map(|(_, ip)| ip.to_string()).collect())
}
