use std::fs;
use std::io::ErrorKind;

use super::*;

fn opts(segment_bytes: u64) -> Options {
    Options {
        fsync: false,
        segment_bytes,
    }
}

fn payload(i: u64) -> Vec<u8> {
    format!("request-{i:04}-{}", "x".repeat(80)).into_bytes()
}

/// Appends `n` records one per call, tag = index % 7.
fn fill(spool: &mut Spool, n: u64) {
    for _ in 0..n {
        let i = spool.next_index();
        let p = payload(i);
        assert_eq!(spool.append(&[((i % 7) as u8, &p)]).unwrap(), i);
    }
}

fn indices(rec: &Recovery) -> Vec<u64> {
    rec.records.iter().map(|r| r.index).collect()
}

fn segments(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "seg"))
        .collect();
    v.sort();
    v
}

fn assert_intact(rec: &Recovery) {
    for r in &rec.records {
        assert_eq!(r.payload, payload(r.index), "record {}", r.index);
        assert_eq!(r.tag, (r.index % 7) as u8, "record {}", r.index);
    }
}

#[test]
fn records_come_back_in_order_with_their_tags_after_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let (mut s, rec) = Spool::open(dir.path(), opts(1 << 20)).unwrap();
    assert!(rec.records.is_empty() && rec.lost == 0 && rec.problems.is_empty());
    fill(&mut s, 5);
    // A group write numbers its records consecutively.
    let group: Vec<Vec<u8>> = (5..8).map(payload).collect();
    let refs: Vec<(u8, &[u8])> = group
        .iter()
        .enumerate()
        .map(|(k, p)| (((5 + k) % 7) as u8, &p[..]))
        .collect();
    assert_eq!(s.append(&refs).unwrap(), 5);
    assert_eq!(s.pending(), 8);
    drop(s);
    let (s, rec) = Spool::open(dir.path(), opts(1 << 20)).unwrap();
    assert_eq!(indices(&rec), (0..8).collect::<Vec<_>>());
    assert_intact(&rec);
    assert_eq!((rec.lost, rec.problems.len()), (0, 0));
    assert_eq!(s.next_index(), 8);
}

#[test]
fn released_records_are_not_read_back_even_out_of_order() {
    let dir = tempfile::tempdir().unwrap();
    let (mut s, _) = Spool::open(dir.path(), opts(1 << 20)).unwrap();
    fill(&mut s, 6);
    s.release(&[0, 1, 4]).unwrap();
    assert_eq!(s.pending(), 3);
    drop(s);
    let (mut s, rec) = Spool::open(dir.path(), opts(1 << 20)).unwrap();
    assert_eq!(indices(&rec), vec![2, 3, 5]);
    assert_eq!(rec.lost, 0);
    s.release(&[3]).unwrap();
    drop(s);
    let (_, rec) = Spool::open(dir.path(), opts(1 << 20)).unwrap();
    assert_eq!(indices(&rec), vec![2, 5]);
}

#[test]
fn segments_roll_and_are_deleted_once_all_their_records_are_done() {
    let dir = tempfile::tempdir().unwrap();
    // About three records per segment.
    let (mut s, _) = Spool::open(dir.path(), opts(300)).unwrap();
    fill(&mut s, 12);
    let before = segments(dir.path()).len();
    assert!(before >= 3, "{before} segments");
    s.release(&(0..9).collect::<Vec<_>>()).unwrap();
    let after = segments(dir.path());
    assert!(after.len() < before, "{after:?}");
    drop(s);
    let (mut s, rec) = Spool::open(dir.path(), opts(300)).unwrap();
    assert_eq!(indices(&rec), vec![9, 10, 11]);
    assert_eq!(rec.lost, 0);
    assert_eq!(s.next_index(), 12);
    s.release(&[9, 10, 11]).unwrap();
    fill(&mut s, 4);
    s.release(&[12, 13, 14, 15]).unwrap();
    // Only the segment being written remains.
    assert_eq!(segments(dir.path()).len(), 1);
}

#[test]
fn a_truncated_segment_yields_the_intact_records_and_counts_the_rest_as_lost() {
    let dir = tempfile::tempdir().unwrap();
    let (mut s, _) = Spool::open(dir.path(), opts(1 << 20)).unwrap();
    fill(&mut s, 10);
    drop(s);
    let seg = &segments(dir.path())[0];
    let rec_len = (HEADER + payload(0).len()) as u64;
    // Cut in the middle of record 6.
    let f = OpenOptions::new().write(true).open(seg).unwrap();
    f.set_len(6 * rec_len + 10).unwrap();
    drop(f);
    let (s, rec) = Spool::open(dir.path(), opts(1 << 20)).unwrap();
    assert_eq!(indices(&rec), (0..6).collect::<Vec<_>>());
    assert_intact(&rec);
    assert_eq!(rec.lost, 4, "records 6..9 were written (the head says so)");
    assert!(
        rec.problems.iter().any(|p| p.contains("6 to 9")),
        "{:?}",
        rec.problems
    );
    // New records continue after the lost ones; the loss is not counted twice.
    assert_eq!(s.next_index(), 10);
    drop(s);
    let (_, rec) = Spool::open(dir.path(), opts(1 << 20)).unwrap();
    assert_eq!(indices(&rec), (0..6).collect::<Vec<_>>());
    assert_eq!(rec.lost, 0, "{:?}", rec.problems);
}

#[test]
fn garbage_in_the_middle_is_skipped_and_the_records_after_it_are_kept() {
    let dir = tempfile::tempdir().unwrap();
    let (mut s, _) = Spool::open(dir.path(), opts(1 << 20)).unwrap();
    fill(&mut s, 10);
    drop(s);
    let seg = &segments(dir.path())[0];
    let rec_len = HEADER + payload(0).len();
    let mut bytes = fs::read(seg).unwrap();
    // Records 3 and 4 overwritten, starting a few bytes into 3.
    for (k, b) in bytes[3 * rec_len + 5..5 * rec_len].iter_mut().enumerate() {
        *b = (k * 31 + 7) as u8;
    }
    fs::write(seg, &bytes).unwrap();
    let (_, rec) = Spool::open(dir.path(), opts(1 << 20)).unwrap();
    assert_eq!(indices(&rec), vec![0, 1, 2, 5, 6, 7, 8, 9]);
    assert_intact(&rec);
    assert_eq!(rec.lost, 2);
    assert!(
        rec.problems.iter().any(|p| p.contains("damaged bytes")),
        "{:?}",
        rec.problems
    );
}

#[test]
fn a_flipped_payload_bit_fails_the_checksum() {
    let dir = tempfile::tempdir().unwrap();
    let (mut s, _) = Spool::open(dir.path(), opts(1 << 20)).unwrap();
    fill(&mut s, 3);
    drop(s);
    let seg = &segments(dir.path())[0];
    let rec_len = HEADER + payload(0).len();
    let mut bytes = fs::read(seg).unwrap();
    bytes[rec_len + HEADER + 20] ^= 0x01;
    fs::write(seg, &bytes).unwrap();
    let (_, rec) = Spool::open(dir.path(), opts(1 << 20)).unwrap();
    assert_eq!(indices(&rec), vec![0, 2]);
    assert_eq!(rec.lost, 1);
}

#[test]
fn a_segment_overwritten_entirely_with_garbage_loses_only_its_records() {
    let dir = tempfile::tempdir().unwrap();
    let (mut s, _) = Spool::open(dir.path(), opts(500)).unwrap();
    fill(&mut s, 12);
    drop(s);
    let segs = segments(dir.path());
    assert!(segs.len() >= 3);
    let victim = &segs[1];
    let first: u64 = victim
        .file_stem()
        .unwrap()
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    let next: u64 = segs[2]
        .file_stem()
        .unwrap()
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    let len = fs::metadata(victim).unwrap().len() as usize;
    fs::write(victim, vec![0xA5; len]).unwrap();
    let (_, rec) = Spool::open(dir.path(), opts(500)).unwrap();
    let want: Vec<u64> = (0..12).filter(|i| *i < first || *i >= next).collect();
    assert_eq!(indices(&rec), want);
    assert_eq!(rec.lost, next - first);
}

#[test]
fn every_file_replaced_by_garbage_still_opens_and_keeps_working() {
    let dir = tempfile::tempdir().unwrap();
    let (mut s, _) = Spool::open(dir.path(), opts(1 << 20)).unwrap();
    fill(&mut s, 4);
    s.release(&[0]).unwrap();
    drop(s);
    for name in ["head", "acks"] {
        fs::write(dir.path().join(name), b"not a spool file at all").unwrap();
    }
    for seg in segments(dir.path()) {
        fs::write(seg, b"\0\0garbage").unwrap();
    }
    let (mut s, rec) = Spool::open(dir.path(), opts(1 << 20)).unwrap();
    assert!(rec.records.is_empty());
    // The head is gone, so the records cut off are not counted; the damage is reported.
    assert!(
        rec.problems.iter().any(|p| p.contains("head")),
        "{:?}",
        rec.problems
    );
    let i = s.next_index();
    fill(&mut s, 2);
    drop(s);
    let (_, rec) = Spool::open(dir.path(), opts(1 << 20)).unwrap();
    assert_eq!(indices(&rec), vec![i, i + 1]);
    assert_intact(&rec);
}

#[test]
fn a_damaged_ack_log_means_duplicates_not_loss() {
    let dir = tempfile::tempdir().unwrap();
    let (mut s, _) = Spool::open(dir.path(), opts(1 << 20)).unwrap();
    fill(&mut s, 4);
    s.release(&[1]).unwrap();
    s.release(&[2]).unwrap();
    drop(s);
    let acks = dir.path().join("acks");
    let mut bytes = fs::read(&acks).unwrap();
    let n = bytes.len();
    bytes[n - 3] ^= 0xFF; // the last ack (of 2)
    fs::write(&acks, &bytes).unwrap();
    let (_, rec) = Spool::open(dir.path(), opts(1 << 20)).unwrap();
    assert_eq!(indices(&rec), vec![0, 2, 3]);
    assert_eq!(rec.lost, 0);
    assert!(rec.problems.iter().any(|p| p.contains("sent again")));
}

#[test]
fn the_ack_log_is_rewritten_small_when_it_grows() {
    let dir = tempfile::tempdir().unwrap();
    let (mut s, _) = Spool::open(dir.path(), opts(64 << 20)).unwrap();
    let n = 50_000u64;
    let p = [0u8; 4];
    for _ in 0..n {
        s.append(&[(0, &p)]).unwrap();
    }
    // Release all but record 0, one at a time: the done set stays above the low watermark.
    for i in 1..n {
        s.release(&[i]).unwrap();
    }
    assert!(fs::metadata(dir.path().join("acks")).unwrap().len() <= ACKS_REWRITE_BYTES);
    drop(s);
    let (_, rec) = Spool::open(dir.path(), opts(64 << 20)).unwrap();
    assert_eq!(indices(&rec), vec![0]);
    assert_eq!(rec.lost, 0);
}

#[test]
fn a_second_open_of_the_same_directory_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (_s, _) = Spool::open(dir.path(), opts(1 << 20)).unwrap();
    let err = Spool::open(dir.path(), opts(1 << 20)).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::ResourceBusy);
    assert!(err.to_string().contains("another process"), "{err}");
}

#[test]
fn a_failed_write_appends_nothing_and_uses_no_index() {
    let dir = tempfile::tempdir().unwrap();
    // The segment the spool writes first is the device that answers every write with ENOSPC.
    std::os::unix::fs::symlink("/dev/full", dir.path().join(segment_name(0))).unwrap();
    let (mut s, rec) = Spool::open(dir.path(), opts(1 << 20)).unwrap();
    assert!(rec.records.is_empty());
    let err = s.append(&[(1, b"lost?")]).unwrap_err();
    assert!(err.to_string().contains(&segment_name(0)), "{err}");
    assert_eq!(s.next_index(), 0);
    assert_eq!(s.pending(), 0);
}

#[test]
fn an_unwritable_directory_is_an_error_not_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("a-file");
    fs::write(&file, b"x").unwrap();
    let err = Spool::open(&file.join("queue"), opts(1 << 20)).unwrap_err();
    assert!(err.to_string().contains("a-file"), "{err}");
}

#[test]
fn scanning_random_bytes_never_panics_and_finds_nothing() {
    // A deterministic xorshift stream, with magic numbers sprinkled in to exercise resync.
    let mut x = 0x9E37_79B9_7F4A_7C15u64;
    let mut buf = Vec::with_capacity(1 << 16);
    while buf.len() < 1 << 16 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        if x.is_multiple_of(17) {
            buf.extend_from_slice(&SEGMENT_MAGIC.to_le_bytes());
        }
        buf.extend_from_slice(&x.to_le_bytes());
    }
    let mut found = 0;
    let damaged = scan(&buf, SEGMENT_MAGIC, |_, _, _, _| {
        found += 1;
        true
    });
    assert_eq!(found, 0);
    assert_eq!(damaged, vec![(0, buf.len())]);
}
