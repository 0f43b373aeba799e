//! The body of the `config_load` fuzz target (fuzz/fuzz_targets/config_load.rs), run on stable
//! over seeded mutations of real configs: loading and validating must never panic.

use std::panic::{AssertUnwindSafe, catch_unwind};

fn load_and_validate(text: &str) {
    if let Ok(cfg) = config::load_from_str(text) {
        let _ = runtime::graph::parse(&components::registry(), cfg);
    }
}

/// xorshift64*: deterministic, dependency-free.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

const SEED_CONFIG: &str = r#"
receivers:
  otlp:
    protocols:
      grpc: {endpoint: "${env:HOST:-localhost}:4317", max_recv_msg_size_mib: 8}
      http: {endpoint: localhost:4318, cors: {allowed_origins: ["https://*.x"]}}
processors:
  batch: {timeout: 1s, send_batch_size: 100, send_batch_max_size: 200}
  memory_limiter: {check_interval: 1s, limit_mib: 100}
exporters:
  otlp: {endpoint: "host:4317", tls: {insecure: true}, sending_queue: {queue_size: 10}}
  otlphttp: {endpoint: "http://h:4318", compression: zstd, retry_on_failure: {max_elapsed_time: 0}}
  debug: {verbosity: detailed}
connectors:
  forward: {}
extensions:
  health_check: {endpoint: "localhost:13133"}
service:
  extensions: [health_check]
  pipelines:
    traces: {receivers: [otlp], processors: [memory_limiter, batch], exporters: [otlp, forward]}
    traces/2: {receivers: [forward], exporters: [debug]}
    logs: {receivers: [otlp], exporters: [otlphttp]}
"#;

const ALPHABET: &[u8] = b" :-[]{},\n\t'\"$#&*!|>%@`/\\x0";

#[test]
fn config_loading_never_panics_on_mutated_configs() {
    let mut seeds = vec![SEED_CONFIG.to_string()];
    let shared = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/configs");
    if let Ok(dir) = std::fs::read_dir(&shared) {
        for e in dir.flatten() {
            if let Ok(t) = std::fs::read_to_string(e.path()) {
                seeds.push(t);
            }
        }
    }
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    for round in 0..3000 {
        let mut bytes = seeds[round % seeds.len()].clone().into_bytes();
        for _ in 0..1 + rng.below(4) {
            let at = rng.below(bytes.len());
            match rng.below(4) {
                0 => bytes[at] = ALPHABET[rng.below(ALPHABET.len())],
                1 => {
                    bytes.remove(at);
                }
                2 => bytes.insert(at, ALPHABET[rng.below(ALPHABET.len())]),
                _ => {
                    let end = (at + rng.below(40)).min(bytes.len());
                    bytes.drain(at..end);
                }
            }
        }
        let text = String::from_utf8_lossy(&bytes).into_owned();
        let outcome = catch_unwind(AssertUnwindSafe(|| load_and_validate(&text)));
        assert!(outcome.is_ok(), "panicked on round {round}:\n{text}");
    }
}
