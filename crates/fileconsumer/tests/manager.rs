//! The engine against real files in temporary directories: start_at, rotation cases of
//! Go's design doc, truncation, symlinks, restarts from checkpoints, multiline and flush,
//! max_log_size, encodings, gzip, delete_after_read, header, sink failures.

use std::collections::HashMap;
use std::fs::{self, OpenOptions};
use std::io::Write;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use fileconsumer::{
    Attributes, Body, Config, Emit, EmitError, FeatureGates, HeaderParser, KNOWN_FILES_KEY,
    Manager, ManagerOptions, Persister, Token,
};

#[derive(Clone, Default)]
struct Sink {
    tokens: Arc<Mutex<Vec<Token>>>,
    /// refuse this many batches before accepting
    refuse: Arc<Mutex<usize>>,
    max_batch_bytes: Arc<Mutex<usize>>,
}

impl Emit for Sink {
    fn emit(&mut self, batch: &mut Vec<Token>) -> Result<(), EmitError> {
        let mut refuse = self.refuse.lock().unwrap();
        if *refuse > 0 {
            *refuse -= 1;
            return Err(EmitError("downstream full".into()));
        }
        let bytes: usize = batch
            .iter()
            .map(|t| match &t.body {
                Body::Text(s) => s.len(),
                Body::Bytes(b) => b.len(),
            })
            .sum();
        let mut m = self.max_batch_bytes.lock().unwrap();
        *m = (*m).max(bytes);
        self.tokens.lock().unwrap().extend(batch.drain(..));
        Ok(())
    }
}

impl Sink {
    fn take_texts(&self) -> Vec<String> {
        self.tokens
            .lock()
            .unwrap()
            .drain(..)
            .map(|t| match t.body {
                Body::Text(s) => s.to_string(),
                Body::Bytes(b) => String::from_utf8_lossy(&b).into_owned(),
            })
            .collect()
    }
}

#[derive(Clone, Default)]
struct MemStore(Arc<Mutex<HashMap<String, Vec<u8>>>>);

impl Persister for MemStore {
    fn get(&self, key: &str) -> Result<Option<Vec<u8>>, String> {
        Ok(self.0.lock().unwrap().get(key).cloned())
    }
    fn set(&self, key: &str, value: Vec<u8>) -> Result<(), String> {
        self.0.lock().unwrap().insert(key.to_string(), value);
        Ok(())
    }
}

fn config(dir: &Path, extra: serde_json::Value) -> Config {
    let mut v = serde_json::json!({
        "include": [format!("{}/*.log", dir.display())],
        "start_at": "beginning",
        "force_flush_period": "0s",
    });
    if let (Some(o), serde_json::Value::Object(e)) = (v.as_object_mut(), extra) {
        o.extend(e);
    }
    serde_json::from_value(v).unwrap()
}

fn manager(cfg: &Config, sink: &Sink, store: Option<&MemStore>) -> Manager {
    let opts = ManagerOptions {
        persister: store.map(|s| Box::new(s.clone()) as Box<dyn Persister>),
        ..Default::default()
    };
    Manager::new(cfg, Box::new(sink.clone()), opts).unwrap()
}

fn append(path: &Path, text: &str) {
    let mut f = OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .unwrap();
    f.write_all(text.as_bytes()).unwrap();
}

fn lines(prefix: &str, range: std::ops::Range<usize>) -> String {
    range.map(|i| format!("{prefix} line {i:04}\n")).collect()
}

fn expect(prefix: &str, range: std::ops::Range<usize>) -> Vec<String> {
    range.map(|i| format!("{prefix} line {i:04}")).collect()
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

#[test]
fn start_at_beginning_reads_existing_content() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("a.log");
    append(&p, &lines("a", 0..3));
    let sink = Sink::default();
    let mut m = manager(&config(dir.path(), serde_json::json!({})), &sink, None);
    m.poll();
    assert_eq!(sink.take_texts(), expect("a", 0..3));
    m.poll();
    assert!(sink.take_texts().is_empty());
}

#[test]
fn start_at_end_skips_existing_then_reads_appended_and_new_files() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("a.log");
    append(&p, &lines("old", 0..3));
    let sink = Sink::default();
    let mut m = manager(
        &config(dir.path(), serde_json::json!({"start_at": "end"})),
        &sink,
        None,
    );
    m.poll();
    assert!(sink.take_texts().is_empty());
    append(&p, &lines("new", 0..2));
    // a file appearing after the first poll is read from its start even with start_at: end
    append(&dir.path().join("b.log"), &lines("b", 0..2));
    m.poll();
    assert_eq!(
        sink.take_texts(),
        [expect("new", 0..2), expect("b", 0..2)].concat()
    );
}

#[test]
fn attributes_and_record_numbers_are_set() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("a.log");
    append(&p, "one\n\ntwo\n");
    let sink = Sink::default();
    let cfg = config(
        dir.path(),
        serde_json::json!({"include_file_path": true, "include_file_record_number": true,
                           "include_file_path_resolved": true}),
    );
    let mut m = manager(&cfg, &sink, None);
    m.poll();
    let toks = sink.tokens.lock().unwrap().clone();
    assert_eq!(toks.len(), 2);
    assert_eq!(toks[0].attributes["log.file.name"], "a.log");
    assert_eq!(toks[0].attributes["log.file.path"], p.to_str().unwrap());
    let resolved = fs::canonicalize(&p).unwrap();
    assert_eq!(
        toks[0].attributes["log.file.path_resolved"],
        resolved.to_str().unwrap()
    );
    // the empty line is not emitted but counts as a record, as in Go
    assert_eq!(toks[0].record_number, Some(1));
    assert_eq!(toks[1].record_number, Some(3));
    assert!(Arc::ptr_eq(&toks[0].attributes, &toks[1].attributes));
}

#[test]
fn rotation_move_create_inside_pattern_reads_each_line_once() {
    let dir = tempfile::tempdir().unwrap();
    let cfg: Config = {
        let mut c = config(dir.path(), serde_json::json!({}));
        c.include = vec![format!("{}/a.log*", dir.path().display())];
        c
    };
    let p = dir.path().join("a.log");
    append(&p, &lines("first", 0..5));
    let sink = Sink::default();
    let mut m = manager(&cfg, &sink, None);
    m.poll();
    assert_eq!(sink.take_texts(), expect("first", 0..5));
    append(&p, &lines("first", 5..8));
    fs::rename(&p, dir.path().join("a.log.1")).unwrap();
    append(&p, &lines("second", 0..4));
    m.poll();
    assert_eq!(
        sorted(sink.take_texts()),
        sorted([expect("first", 5..8), expect("second", 0..4)].concat())
    );
    m.poll();
    assert!(sink.take_texts().is_empty());
}

#[test]
fn rotation_move_out_of_pattern_drains_the_lost_file() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("a.log");
    append(&p, &lines("first", 0..3));
    let sink = Sink::default();
    let mut m = manager(&config(dir.path(), serde_json::json!({})), &sink, None);
    m.poll();
    assert_eq!(sink.take_texts(), expect("first", 0..3));
    append(&p, &lines("first", 3..6));
    fs::rename(&p, dir.path().join("a.old")).unwrap();
    append(&p, &lines("second", 0..2));
    m.poll();
    // the lost file is read before the current ones
    assert_eq!(
        sink.take_texts(),
        [expect("first", 3..6), expect("second", 0..2)].concat()
    );
}

#[test]
fn rotation_copy_truncate_inside_pattern_reads_each_line_once() {
    let dir = tempfile::tempdir().unwrap();
    let cfg: Config = {
        let mut c = config(dir.path(), serde_json::json!({}));
        c.include = vec![format!("{}/a.log*", dir.path().display())];
        c
    };
    let p = dir.path().join("a.log");
    append(&p, &lines("first", 0..5));
    let sink = Sink::default();
    let mut m = manager(&cfg, &sink, None);
    m.poll();
    assert_eq!(sink.take_texts(), expect("first", 0..5));
    append(&p, &lines("first", 5..7));
    fs::copy(&p, dir.path().join("a.log.1")).unwrap();
    OpenOptions::new()
        .write(true)
        .truncate(true)
        .open(&p)
        .unwrap();
    append(&p, &lines("second", 0..3));
    m.poll();
    assert_eq!(
        sorted(sink.take_texts()),
        sorted([expect("first", 5..7), expect("second", 0..3)].concat())
    );
    m.poll();
    assert!(sink.take_texts().is_empty());
}

#[test]
fn truncation_with_new_content_is_read_from_start() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("a.log");
    append(&p, &lines("first", 0..5));
    let sink = Sink::default();
    let mut m = manager(&config(dir.path(), serde_json::json!({})), &sink, None);
    m.poll();
    sink.take_texts();
    fs::write(&p, lines("other", 0..2)).unwrap();
    m.poll();
    assert_eq!(sink.take_texts(), expect("other", 0..2));
}

#[test]
fn symlinked_file_rotated_by_relinking_reads_each_line_once() {
    let dir = tempfile::tempdir().unwrap();
    let targets = dir.path().join("targets");
    fs::create_dir(&targets).unwrap();
    let link = dir.path().join("app.log");
    let t1 = targets.join("1.txt");
    append(&t1, &lines("one", 0..3));
    std::os::unix::fs::symlink(&t1, &link).unwrap();
    let sink = Sink::default();
    let cfg = config(
        dir.path(),
        serde_json::json!({"include_file_name_resolved": true}),
    );
    let mut m = manager(&cfg, &sink, None);
    m.poll();
    assert_eq!(sink.take_texts(), expect("one", 0..3));
    append(&t1, &lines("one", 3..4));
    m.poll();
    assert_eq!(sink.take_texts(), expect("one", 3..4));
    let t2 = targets.join("2.txt");
    append(&t2, &lines("two", 0..2));
    fs::remove_file(&link).unwrap();
    std::os::unix::fs::symlink(&t2, &link).unwrap();
    m.poll();
    let toks = sink.tokens.lock().unwrap().clone();
    assert_eq!(toks.len(), 2);
    assert_eq!(toks[0].attributes["log.file.name_resolved"], "2.txt");
    assert_eq!(toks[0].attributes["log.file.name"], "app.log");
}

#[test]
fn deleted_file_is_forgotten_and_a_recreated_one_read_from_start() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("a.log");
    append(&p, &lines("first", 0..2));
    let sink = Sink::default();
    let mut m = manager(&config(dir.path(), serde_json::json!({})), &sink, None);
    m.poll();
    sink.take_texts();
    fs::remove_file(&p).unwrap();
    m.poll();
    append(&p, &lines("again", 0..2));
    m.poll();
    assert_eq!(sink.take_texts(), expect("again", 0..2));
}

#[test]
fn restart_from_checkpoint_neither_rereads_nor_skips() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("a.log");
    append(&p, &lines("a", 0..3));
    let store = MemStore::default();
    let sink = Sink::default();
    let cfg = config(dir.path(), serde_json::json!({"start_at": "end"}));
    {
        let cfg = config(dir.path(), serde_json::json!({}));
        let mut m = manager(&cfg, &sink, Some(&store));
        m.poll();
        m.stop();
    }
    assert_eq!(sink.take_texts(), expect("a", 0..3));
    let saved = store.get(KNOWN_FILES_KEY).unwrap().unwrap();
    let text = String::from_utf8(saved).unwrap();
    assert!(
        text.starts_with("1\n{\"Fingerprint\":{\"first_bytes\":"),
        "{text}"
    );
    assert!(text.contains("\"Offset\":36,"), "{text}");
    // written while stopped: an existing file grows, a new one appears
    append(&p, &lines("a", 3..5));
    append(&dir.path().join("b.log"), &lines("b", 0..2));
    let mut m = manager(&cfg, &sink, Some(&store));
    m.poll();
    // start_at: end does not apply when resuming: b.log is read from its start
    assert_eq!(
        sink.take_texts(),
        [expect("a", 3..5), expect("b", 0..2)].concat()
    );
    m.stop();
}

#[test]
fn refused_batch_is_read_again_next_poll() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("a.log");
    append(&p, &lines("a", 0..250));
    let sink = Sink::default();
    let mut m = manager(&config(dir.path(), serde_json::json!({})), &sink, None);
    *sink.refuse.lock().unwrap() = 0;
    m.poll();
    assert_eq!(sink.take_texts().len(), 250);
    append(&p, &lines("b", 0..250));
    *sink.refuse.lock().unwrap() = 1;
    m.poll();
    assert!(sink.take_texts().is_empty());
    m.poll();
    assert_eq!(sink.take_texts(), expect("b", 0..250));
}

#[test]
fn multiline_line_start_with_force_flush_of_last_entry() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("a.log");
    append(
        &p,
        "2024-01-01 first\n  at frame 1\n  at frame 2\n2024-01-02 second\n  detail\n",
    );
    let sink = Sink::default();
    let cfg = config(
        dir.path(),
        serde_json::json!({"multiline": {"line_start_pattern": r"^\d{4}-\d{2}-\d{2}"},
                           "force_flush_period": "50ms"}),
    );
    let mut m = manager(&cfg, &sink, None);
    m.poll();
    assert_eq!(
        sink.take_texts(),
        vec!["2024-01-01 first\n  at frame 1\n  at frame 2"]
    );
    std::thread::sleep(Duration::from_millis(120));
    m.poll();
    assert_eq!(sink.take_texts(), vec!["2024-01-02 second\n  detail"]);
    append(&p, "2024-01-03 third\n2024-01-04 x\n");
    m.poll();
    assert_eq!(sink.take_texts(), vec!["2024-01-03 third"]);
}

#[test]
fn multiline_line_end_pattern() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("a.log");
    append(&p, "a\nb;\nc\nd;\ne");
    let sink = Sink::default();
    let cfg = config(
        dir.path(),
        serde_json::json!({"multiline": {"line_end_pattern": ";$"}}),
    );
    let mut m = manager(&cfg, &sink, None);
    m.poll();
    assert_eq!(sink.take_texts(), vec!["a\nb;", "c\nd;"]);
}

#[test]
fn force_flush_emits_a_partial_last_line_once() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("a.log");
    append(&p, "whole\npartial");
    let sink = Sink::default();
    let cfg = config(
        dir.path(),
        serde_json::json!({"force_flush_period": "50ms"}),
    );
    let mut m = manager(&cfg, &sink, None);
    m.poll();
    assert_eq!(sink.take_texts(), vec!["whole"]);
    m.poll();
    assert!(sink.take_texts().is_empty());
    std::thread::sleep(Duration::from_millis(120));
    m.poll();
    assert_eq!(sink.take_texts(), vec!["partial"]);
    append(&p, "\nnext\n");
    m.poll();
    assert_eq!(sink.take_texts(), vec!["next"]);
}

#[test]
fn without_force_flush_a_partial_line_waits_for_its_newline() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("a.log");
    append(&p, "par");
    let sink = Sink::default();
    let mut m = manager(&config(dir.path(), serde_json::json!({})), &sink, None);
    m.poll();
    append(&p, "tial\n");
    m.poll();
    assert_eq!(sink.take_texts(), vec!["partial"]);
}

#[test]
fn max_log_size_splits_a_long_line_into_pieces() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("a.log");
    append(&p, &format!("{}\nshort\n", "x".repeat(2500)));
    let sink = Sink::default();
    let cfg = config(dir.path(), serde_json::json!({"max_log_size": "1KiB"}));
    let mut m = manager(&cfg, &sink, None);
    m.poll();
    let got = sink.take_texts();
    assert_eq!(
        got.iter().map(String::len).collect::<Vec<_>>(),
        vec![1024, 1024, 452, 5]
    );
}

#[test]
fn fifty_megabyte_line_is_read_in_bounded_pieces() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("a.log");
    let size = 50 * 1024 * 1024 + 17;
    {
        let mut f = fs::File::create(&p).unwrap();
        let chunk = vec![b'y'; 1 << 20];
        let mut left = size;
        while left > 0 {
            let n = left.min(chunk.len());
            f.write_all(&chunk[..n]).unwrap();
            left -= n;
        }
        f.write_all(b"\nafter\n").unwrap();
    }
    let sink = Sink::default();
    let mut m = manager(&config(dir.path(), serde_json::json!({})), &sink, None);
    m.poll();
    let got = sink.take_texts();
    assert_eq!(got.len(), 52);
    assert!(got[..50].iter().all(|t| t.len() == 1 << 20));
    assert_eq!(got[50].len(), 17);
    assert_eq!(got[51], "after");
    // a batch is handed over once it holds 1 MiB, so at most 1 MiB + one piece in flight
    assert!(*sink.max_batch_bytes.lock().unwrap() <= 2 << 20);
}

#[test]
fn binary_file_without_newline_is_emitted_in_max_size_pieces() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("a.log");
    let data: Vec<u8> = (0..10_000u32).map(|i| (i * 7 % 251) as u8 | 0x80).collect();
    fs::write(&p, &data).unwrap();
    let sink = Sink::default();
    let cfg = config(
        dir.path(),
        serde_json::json!({"max_log_size": 4096, "force_flush_period": "1ms"}),
    );
    let mut m = manager(&cfg, &sink, None);
    m.poll();
    std::thread::sleep(Duration::from_millis(10));
    m.poll();
    let got = sink.take_texts();
    assert_eq!(got.len(), 3);
    assert!(
        got.iter()
            .all(|t| t.chars().all(|c| c == '\u{FFFD}' || !c.is_control()))
    );
}

#[test]
fn utf16le_file_is_split_and_decoded() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("a.log");
    let text = "héllo\r\nwörld\n";
    let bytes: Vec<u8> = text.encode_utf16().flat_map(|u| u.to_le_bytes()).collect();
    fs::write(&p, bytes).unwrap();
    let sink = Sink::default();
    let cfg = config(dir.path(), serde_json::json!({"encoding": "utf-16le"}));
    let mut m = manager(&cfg, &sink, None);
    m.poll();
    assert_eq!(sink.take_texts(), vec!["héllo", "wörld"]);
}

#[test]
fn nop_encoding_emits_bytes_untrimmed() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("a.log");
    fs::write(&p, b" raw\xff\n").unwrap();
    let sink = Sink::default();
    let cfg = config(dir.path(), serde_json::json!({"encoding": "nop"}));
    let mut m = manager(&cfg, &sink, None);
    m.poll();
    let toks = sink.tokens.lock().unwrap().clone();
    assert_eq!(toks.len(), 1);
    assert_eq!(toks[0].body, Body::Bytes(b" raw\xff\n".to_vec()));
}

fn gzip(text: &str) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(text.as_bytes()).unwrap();
    enc.finish().unwrap()
}

#[test]
fn gzip_file_and_appended_members_are_read_once() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("a.log");
    fs::write(&p, gzip(&lines("gz", 0..3))).unwrap();
    let sink = Sink::default();
    let cfg = config(dir.path(), serde_json::json!({"compression": "gzip"}));
    let mut m = manager(&cfg, &sink, None);
    m.poll();
    assert_eq!(sink.take_texts(), expect("gz", 0..3));
    let mut f = OpenOptions::new().append(true).open(&p).unwrap();
    f.write_all(&gzip(&lines("gz", 3..5))).unwrap();
    m.poll();
    assert_eq!(sink.take_texts(), expect("gz", 3..5));
    m.poll();
    assert!(sink.take_texts().is_empty());
}

#[test]
fn delete_after_read_removes_files_at_eof() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("a.log");
    append(&p, &lines("a", 0..2));
    let sink = Sink::default();
    let cfg = config(dir.path(), serde_json::json!({"delete_after_read": true}));
    let opts = ManagerOptions {
        gates: FeatureGates {
            allow_file_deletion: true,
            ..Default::default()
        },
        ..Default::default()
    };
    let mut m = Manager::new(&cfg, Box::new(sink.clone()), opts).unwrap();
    m.poll();
    assert_eq!(sink.take_texts(), expect("a", 0..2));
    assert!(!p.exists());
    assert_eq!(m.telemetry().open_files(), 0);
}

#[test]
fn header_lines_become_attributes_and_are_not_emitted() {
    struct KeyValue;
    impl HeaderParser for KeyValue {
        fn parse(&mut self, line: &str, attrs: &mut Attributes) -> Result<(), String> {
            let (k, v) = line
                .trim_start_matches("# ")
                .split_once(": ")
                .ok_or("no colon")?;
            attrs.insert(k.to_string(), serde_json::Value::String(v.to_string()));
            Ok(())
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("a.log");
    append(&p, "# env: prod\n# team: logs\nbody 1\n# not header\n");
    let sink = Sink::default();
    let cfg = config(
        dir.path(),
        serde_json::json!({"header": {"pattern": "^#", "metadata_operators": [{"type": "regex_parser"}]}}),
    );
    let opts = ManagerOptions {
        header_parser: Some(Box::new(KeyValue)),
        ..Default::default()
    };
    let mut m = Manager::new(&cfg, Box::new(sink.clone()), opts).unwrap();
    m.poll();
    let toks = sink.tokens.lock().unwrap().clone();
    let bodies: Vec<_> = toks.iter().map(|t| t.body.clone()).collect();
    assert_eq!(
        bodies,
        vec![
            Body::Text("body 1".into()),
            Body::Text("# not header".into())
        ]
    );
    assert_eq!(toks[0].attributes["env"], "prod");
    assert_eq!(toks[0].attributes["team"], "logs");
}

#[test]
fn more_files_than_max_concurrent_files_are_all_read() {
    let dir = tempfile::tempdir().unwrap();
    for i in 0..7 {
        append(
            &dir.path().join(format!("f{i}.log")),
            &lines(&format!("f{i}"), 0..2),
        );
    }
    let sink = Sink::default();
    let cfg = config(dir.path(), serde_json::json!({"max_concurrent_files": 2}));
    let mut m = manager(&cfg, &sink, None);
    m.poll();
    assert_eq!(sink.take_texts().len(), 14);
    m.poll();
    assert!(sink.take_texts().is_empty());
    assert!(m.telemetry().open_files() <= 2);
}

#[test]
fn exclude_globs_skip_files() {
    let dir = tempfile::tempdir().unwrap();
    append(&dir.path().join("keep.log"), "k\n");
    append(&dir.path().join("skip.log"), "s\n");
    let sink = Sink::default();
    let cfg = config(
        dir.path(),
        serde_json::json!({"exclude": [format!("{}/skip*", dir.path().display())]}),
    );
    let mut m = manager(&cfg, &sink, None);
    m.poll();
    assert_eq!(sink.take_texts(), vec!["k"]);
}

#[test]
fn identical_copies_are_read_once_per_poll() {
    let dir = tempfile::tempdir().unwrap();
    append(&dir.path().join("a.log"), "same\n");
    append(&dir.path().join("b.log"), "same\n");
    let sink = Sink::default();
    let mut m = manager(&config(dir.path(), serde_json::json!({})), &sink, None);
    m.poll();
    assert_eq!(sink.take_texts(), vec!["same"]);
}

/// Expected values recorded from otelcol-contrib 0.135 (filelog -> otlphttp json) on the
/// same files and settings.
#[test]
fn matches_go_collector_on_multiline_max_log_size_and_trimming() {
    let dir = tempfile::tempdir().unwrap();
    let ml = dir.path().join("ml.log");
    append(
        &ml,
        "junk line\n2024-01-01 first\n  at frame 1\n2024-01-02 second\n  detail  \n2024-01-03 third\n",
    );
    let long = dir.path().join("long.log");
    append(
        &long,
        &format!("{}\nshort\n  \t padded \t \n\n   \nlast", "x".repeat(2500)),
    );
    let run = |file: &Path, extra: serde_json::Value| {
        let sink = Sink::default();
        let mut cfg = config(dir.path(), extra);
        cfg.include = vec![file.display().to_string()];
        cfg.include_file_record_number = true;
        cfg.force_flush_period = config::Duration::from_millis(50);
        let mut m = manager(&cfg, &sink, None);
        m.poll();
        std::thread::sleep(Duration::from_millis(120));
        m.poll();
        let toks = sink.tokens.lock().unwrap().clone();
        toks.into_iter()
            .map(|t| match t.body {
                Body::Text(s) => (s.to_string(), t.record_number.unwrap()),
                Body::Bytes(_) => unreachable!(),
            })
            .collect::<Vec<_>>()
    };
    let got = run(
        &ml,
        serde_json::json!({"multiline": {"line_start_pattern": r"^\d{4}-\d{2}-\d{2}"}}),
    );
    let want: Vec<(String, i64)> = vec![
        ("junk line".into(), 1),
        ("2024-01-01 first\n  at frame 1".into(), 2),
        ("2024-01-02 second\n  detail".into(), 3),
        ("2024-01-03 third".into(), 4),
    ];
    assert_eq!(got, want);
    let got = run(&long, serde_json::json!({"max_log_size": "1KiB"}));
    let shape: Vec<(usize, i64)> = got.iter().map(|(s, n)| (s.len(), *n)).collect();
    assert_eq!(
        shape,
        vec![(1024, 1), (1024, 2), (452, 3), (5, 4), (6, 5), (4, 8)]
    );
    assert_eq!(got[4].0, "padded");
    assert_eq!(got[5].0, "last");
    let le = dir.path().join("le.log");
    append(&le, "x END\ny\nz END");
    let got = run(
        &le,
        serde_json::json!({"multiline": {"line_end_pattern": "END", "omit_pattern": true}}),
    );
    let bodies: Vec<&str> = got.iter().map(|(s, _)| s.as_str()).collect();
    // the trailing "END" is flushed after force_flush_period in our run; Go's run used 0s
    assert_eq!(&bodies[..2], &["x", "y\nz"]);
}

// ---- keys of newer Go collectors -------------------------------------------------------

#[test]
fn max_log_size_behavior_truncate_drops_the_rest_of_a_long_line() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("a.log");
    append(&p, &format!("{}\nshort\n", "a".repeat(25)));
    let sink = Sink::default();
    let cfg = config(
        dir.path(),
        serde_json::json!({"max_log_size": 10, "max_log_size_behavior": "truncate"}),
    );
    let mut m = manager(&cfg, &sink, None);
    m.poll();
    assert_eq!(sink.take_texts(), vec!["a".repeat(10), "short".into()]);

    // the same file with the default behaviour: the rest comes as further records
    let sink = Sink::default();
    let cfg = config(dir.path(), serde_json::json!({"max_log_size": 10}));
    let mut m = manager(&cfg, &sink, None);
    m.poll();
    assert_eq!(
        sink.take_texts(),
        vec![
            "a".repeat(10),
            "a".repeat(10),
            "a".repeat(5),
            "short".into()
        ]
    );
}

#[test]
fn max_log_size_behavior_truncate_drops_a_rest_that_arrives_in_later_polls() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("a.log");
    // no newline yet: the first max_log_size bytes are emitted, the rest is dropped as it
    // arrives, up to the newline, across polls and window refills
    append(&p, &"b".repeat(24));
    let sink = Sink::default();
    let cfg = config(
        dir.path(),
        serde_json::json!({"max_log_size": 10, "max_log_size_behavior": "truncate",
            "include_file_record_number": true}),
    );
    let mut m = manager(&cfg, &sink, None);
    m.poll();
    assert_eq!(sink.take_texts(), vec!["b".repeat(10)]);
    append(&p, &"b".repeat(100_000));
    m.poll();
    assert!(sink.take_texts().is_empty());
    append(&p, "bbb\nnext\n");
    m.poll();
    let toks = sink.tokens.lock().unwrap().clone();
    assert_eq!(toks.len(), 1);
    assert_eq!(toks[0].body, Body::Text("next".into()));
    // the dropped rest is no record of its own
    assert_eq!(toks[0].record_number, Some(2));
}

#[test]
fn max_log_size_behavior_truncate_with_line_start_pattern() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("a.log");
    append(
        &p,
        "START 1 aaaaaaaaaaaaaaaaaaaa\n more\nSTART 2 b\nSTART 3 cccccccccccccccccccccccccc\nSTART 4\n",
    );
    let sink = Sink::default();
    let cfg = config(
        dir.path(),
        serde_json::json!({"max_log_size": 12, "max_log_size_behavior": "truncate",
            "multiline": {"line_start_pattern": "^START"}}),
    );
    let mut m = manager(&cfg, &sink, None);
    m.poll();
    assert_eq!(
        sink.take_texts(),
        vec!["START 1 aaaa", "START 2 b", "START 3 cccc"]
    );
}

/// Writes `text` over the file from byte 0 and cuts it there (copytruncate, then the
/// application writes again).
fn rewrite(path: &Path, text: &str) {
    let mut f = OpenOptions::new()
        .write(true)
        .truncate(true)
        .open(path)
        .unwrap();
    f.write_all(text.as_bytes()).unwrap();
}

fn on_truncate_run(mode: &str) -> (Vec<String>, Vec<String>) {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("a.log");
    append(&p, &lines("first", 0..5));
    let sink = Sink::default();
    let cfg = config(
        dir.path(),
        serde_json::json!({"fingerprint_size": 16, "on_truncate": mode}),
    );
    let mut m = manager(&cfg, &sink, None);
    m.poll();
    assert_eq!(sink.take_texts(), expect("first", 0..5));
    // same first 16 bytes, shorter than the offset read so far
    rewrite(&p, "first line 0000\nsecond line 0001\n");
    m.poll();
    let at_truncation = sink.take_texts();
    append(&p, "third line 0002\n");
    m.poll();
    (at_truncation, sink.take_texts())
}

#[test]
fn on_truncate_ignore_waits_until_the_file_passes_the_old_offset() {
    let (at, after) = on_truncate_run("ignore");
    assert!(at.is_empty(), "{at:?}");
    assert!(after.is_empty(), "{after:?}");
    // the default is ignore
    assert_eq!(on_truncate_run(""), (vec![], vec![]));
}

#[test]
fn on_truncate_read_whole_file_reads_again_from_the_start() {
    let (at, after) = on_truncate_run("read_whole_file");
    assert_eq!(at, vec!["first line 0000", "second line 0001"]);
    assert_eq!(after, vec!["third line 0002"]);
}

#[test]
fn on_truncate_read_new_reads_what_is_written_after_the_truncation() {
    let (at, after) = on_truncate_run("read_new");
    assert!(at.is_empty(), "{at:?}");
    assert_eq!(after, vec!["third line 0002"]);
}

#[test]
fn include_file_record_offset_gives_each_records_start_offset() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("a.log");
    append(&p, "ab\n  cd\n\nef\n");
    let sink = Sink::default();
    let cfg = config(
        dir.path(),
        serde_json::json!({"include_file_record_offset": true}),
    );
    let mut m = manager(&cfg, &sink, None);
    m.poll();
    append(&p, "gh\n");
    m.poll();
    let got: Vec<(String, Option<i64>)> = sink
        .tokens
        .lock()
        .unwrap()
        .iter()
        .map(|t| match &t.body {
            Body::Text(s) => (s.to_string(), t.record_offset),
            Body::Bytes(_) => unreachable!("utf-8 encoding gives text"),
        })
        .collect();
    let want = [("ab", 0), ("cd", 3), ("ef", 9), ("gh", 12)];
    assert_eq!(
        got,
        want.iter()
            .map(|(s, o)| (s.to_string(), Some(*o)))
            .collect::<Vec<_>>()
    );
    // off by default
    let sink = Sink::default();
    let mut m = manager(&config(dir.path(), serde_json::json!({})), &sink, None);
    m.poll();
    assert!(
        sink.tokens
            .lock()
            .unwrap()
            .iter()
            .all(|t| t.record_offset.is_none())
    );
}

#[test]
fn initial_buffer_size_any_value_reads_lines_longer_than_the_buffer() {
    for size in [
        serde_json::json!(0),
        serde_json::json!(-5),
        serde_json::json!(1),
        serde_json::json!("16KiB"),
        serde_json::json!("1MiB"),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.log");
        let long = "x".repeat(200_000);
        append(&p, &format!("a\n{long}\nb\n"));
        let sink = Sink::default();
        let cfg = config(dir.path(), serde_json::json!({"initial_buffer_size": size}));
        let mut m = manager(&cfg, &sink, None);
        m.poll();
        assert_eq!(
            sink.take_texts(),
            vec!["a".to_string(), long, "b".into()],
            "{size}"
        );
    }
}

/// Polls `n` times with `a.log` absent, then puts it back with one more line.
fn reappear_after(n: usize, archive: i64, store: &MemStore) -> Vec<String> {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("a.log");
    let away = dir.path().join("a.away");
    append(&p, &lines("a", 0..3));
    let sink = Sink::default();
    let cfg = config(dir.path(), serde_json::json!({"polls_to_archive": archive}));
    let mut m = manager(&cfg, &sink, Some(store));
    m.poll();
    assert_eq!(sink.take_texts(), expect("a", 0..3));
    fs::rename(&p, &away).unwrap();
    for _ in 0..n {
        m.poll();
    }
    fs::rename(&away, &p).unwrap();
    append(&p, &lines("a", 3..4));
    m.poll();
    sink.take_texts()
}

#[test]
fn polls_to_archive_matches_a_file_that_reappears_after_more_than_three_polls() {
    // memory alone forgets it: read again from the start
    let forgot = reappear_after(6, 0, &MemStore::default());
    assert_eq!(forgot, expect("a", 0..4));
    // with the archive, only the new line
    let store = MemStore::default();
    assert_eq!(reappear_after(6, 5, &store), expect("a", 3..4));
    let keys = store.0.lock().unwrap();
    assert!(
        keys.contains_key("file_input.knownFiles0"),
        "{:?}",
        keys.keys()
    );
    assert!(!keys.contains_key("file_input.knownFiles5"));
    // 8 polls ran: the ring index is 8 % 5, little-endian u64 as Go writes it
    assert_eq!(
        keys.get("file_input.knownFilesArchiveIndex"),
        Some(&3u64.to_le_bytes().to_vec())
    );
}

#[test]
fn polls_to_archive_forgets_what_is_older_than_the_archive() {
    // 3 polls in memory + 2 archived: gone after 3 + 2 + 1 polls away
    let store = MemStore::default();
    assert_eq!(reappear_after(8, 2, &store), expect("a", 0..4));
}

#[test]
fn polls_to_archive_needs_storage() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("a.log");
    let away = dir.path().join("a.away");
    append(&p, &lines("a", 0..2));
    let sink = Sink::default();
    let cfg = config(dir.path(), serde_json::json!({"polls_to_archive": 10}));
    let mut m = manager(&cfg, &sink, None);
    m.poll();
    fs::rename(&p, &away).unwrap();
    for _ in 0..5 {
        m.poll();
    }
    fs::rename(&away, &p).unwrap();
    sink.take_texts();
    m.poll();
    assert_eq!(sink.take_texts(), expect("a", 0..2));
}

#[test]
fn polls_to_archive_continues_the_ring_after_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("a.log");
    append(&p, &lines("a", 0..2));
    let store = MemStore::default();
    let sink = Sink::default();
    let cfg = config(dir.path(), serde_json::json!({"polls_to_archive": 4}));
    let mut m = manager(&cfg, &sink, Some(&store));
    for _ in 0..3 {
        m.poll();
    }
    m.stop();
    drop(m);
    let mut m = manager(&cfg, &sink, Some(&store));
    m.poll();
    let index = store
        .0
        .lock()
        .unwrap()
        .get("file_input.knownFilesArchiveIndex")
        .cloned();
    assert_eq!(index, Some(0u64.to_le_bytes().to_vec()));
    // an index out of the ring's bounds (polls_to_archive lowered) starts again at 0
    store
        .set(
            "file_input.knownFilesArchiveIndex",
            9u64.to_le_bytes().to_vec(),
        )
        .unwrap();
    let mut m = manager(&cfg, &sink, Some(&store));
    m.poll();
    let index = store
        .0
        .lock()
        .unwrap()
        .get("file_input.knownFilesArchiveIndex")
        .cloned();
    assert_eq!(index, Some(1u64.to_le_bytes().to_vec()));
}

/// Checked against otelcol-contrib 0.135 (`compression: auto`, otlphttp JSON): `d.log.gz`
/// was gunzipped with record offsets 0 and 12 (positions in the decompressed stream),
/// `e.log` holding gzip bytes was read as plain bytes, `c.log` as text.
#[test]
fn compression_auto_gunzips_files_named_gz_only() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("c.log"), "plain line\n").unwrap();
    fs::write(
        dir.path().join("d.log.gz"),
        gzip("gz line one\ngz line two\n"),
    )
    .unwrap();
    fs::write(dir.path().join("e.log"), gzip("gz no ext\n")).unwrap();
    let sink = Sink::default();
    let mut cfg = config(
        dir.path(),
        serde_json::json!({"compression": "auto", "include_file_record_offset": true}),
    );
    cfg.include = vec![format!("{}/*", dir.path().display())];
    let mut m = manager(&cfg, &sink, None);
    m.poll();
    let toks = sink.tokens.lock().unwrap().clone();
    let by_file = |name: &str| -> Vec<(Body, Option<i64>)> {
        toks.iter()
            .filter(|t| t.attributes.get("log.file.name").and_then(|v| v.as_str()) == Some(name))
            .map(|t| (t.body.clone(), t.record_offset))
            .collect()
    };
    assert_eq!(
        by_file("c.log"),
        vec![(Body::Text("plain line".into()), Some(0))]
    );
    assert_eq!(
        by_file("d.log.gz"),
        vec![
            (Body::Text("gz line one".into()), Some(0)),
            (Body::Text("gz line two".into()), Some(12))
        ]
    );
    let e = by_file("e.log");
    assert!(!e.is_empty());
    assert!(
        e.iter()
            .all(|(b, _)| !matches!(b, Body::Text(s) if s.contains("gz no ext"))),
        "{e:?}"
    );
}

#[test]
fn no_tracking_reads_every_file_again_at_each_poll() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("a.log");
    append(&p, &lines("a", 0..2));
    let sink = Sink::default();
    let cfg = config(dir.path(), serde_json::json!({}));
    let opts = ManagerOptions {
        no_tracking: true,
        ..Default::default()
    };
    let mut m = Manager::new(&cfg, Box::new(sink.clone()), opts).unwrap();
    m.poll();
    assert_eq!(sink.take_texts(), expect("a", 0..2));
    m.poll();
    assert_eq!(sink.take_texts(), expect("a", 0..2));
    append(&p, &lines("a", 2..3));
    m.poll();
    assert_eq!(sink.take_texts(), expect("a", 0..3));
    m.stop();
}
