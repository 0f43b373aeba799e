//! Fan-out to several consumers.
//!
//! Unlike the Go collector, which calls consumers one after another, ferrotel calls them
//! concurrently: a slow exporter does not delay the others, while the caller still waits for
//! all of them (so backpressure is kept). Batches are copy-on-write, so every consumer gets
//! its own cheap clone and a deep copy happens only if one of them mutates the data.
//! Errors are combined as the Go collector does: any error reaches the sender.

use std::sync::Arc;

use async_trait::async_trait;
use futures::future::join_all;
use pdata::Batch;

use crate::component::{ConsumeError, Consumer, SharedConsumer};

struct Fanout {
    consumers: Vec<SharedConsumer>,
}

/// One consumer that feeds all of `consumers` (or the only one, unchanged).
pub fn fanout(mut consumers: Vec<SharedConsumer>) -> SharedConsumer {
    if consumers.len() == 1 {
        return consumers.pop().expect("one consumer");
    }
    Arc::new(Fanout { consumers })
}

#[async_trait]
impl Consumer for Fanout {
    async fn consume(&self, batch: Batch) -> Result<(), ConsumeError> {
        let results = join_all(self.consumers.iter().map(|c| c.consume(batch.clone()))).await;
        let errors: Vec<ConsumeError> = results.into_iter().filter_map(Result::err).collect();
        match ConsumeError::combine(errors) {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    struct Recorder {
        got: Mutex<Vec<usize>>,
        fail: Option<ConsumeError>,
    }

    #[async_trait]
    impl Consumer for Recorder {
        async fn consume(&self, batch: Batch) -> Result<(), ConsumeError> {
            self.got.lock().unwrap().push(batch.item_count());
            match &self.fail {
                Some(e) => Err(e.clone()),
                None => Ok(()),
            }
        }
    }

    fn empty_batch() -> Batch {
        Batch::from_request(pdata::Request::Logs(Default::default()))
    }

    #[tokio::test]
    async fn every_consumer_receives_the_batch_even_when_one_fails() {
        let ok = Arc::new(Recorder {
            got: Mutex::default(),
            fail: None,
        });
        let bad = Arc::new(Recorder {
            got: Mutex::default(),
            fail: Some(ConsumeError::permanent("down")),
        });
        let f = fanout(vec![bad.clone(), ok.clone()]);
        let err = f.consume(empty_batch()).await.unwrap_err();
        assert_eq!(err.message, "down");
        assert_eq!(ok.got.lock().unwrap().len(), 1);
        assert_eq!(bad.got.lock().unwrap().len(), 1);
    }

    #[tokio::test]
    async fn retryable_error_wins_over_permanent_when_combined() {
        let a = Arc::new(Recorder {
            got: Mutex::default(),
            fail: Some(ConsumeError::permanent("p")),
        });
        let b = Arc::new(Recorder {
            got: Mutex::default(),
            fail: Some(ConsumeError::retryable("r")),
        });
        let err = fanout(vec![a, b]).consume(empty_batch()).await.unwrap_err();
        assert!(err.is_retryable());
        assert_eq!(err.message, "p; r");
    }
}
