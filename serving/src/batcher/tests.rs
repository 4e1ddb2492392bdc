use std::sync::atomic::{AtomicUsize, Ordering};

use smelt_data::Kind;
use smelt_models::{ModelError, Task};

use super::*;

/// Doubles `x`; records each call's row count; can be slowed or broken.
struct Doubler {
    calls: Mutex<Vec<usize>>,
    delay: Duration,
    running: AtomicUsize,
    most_running: AtomicUsize,
}

impl Doubler {
    fn new(delay: Duration) -> Arc<Doubler> {
        Arc::new(Doubler {
            calls: Mutex::new(Vec::new()),
            delay,
            running: AtomicUsize::new(0),
            most_running: AtomicUsize::new(0),
        })
    }
}

impl Predictor for Doubler {
    fn input_names(&self) -> Vec<String> {
        vec!["x".into()]
    }
    fn inputs(&self) -> Vec<(String, Kind)> {
        vec![("x".into(), Kind::Numeric)]
    }
    fn task(&self) -> &Task {
        &Task::Regression
    }
    fn predict(&self, frame: &Frame) -> smelt_models::Result<Predictions> {
        let now = self.running.fetch_add(1, Ordering::SeqCst) + 1;
        self.most_running.fetch_max(now, Ordering::SeqCst);
        std::thread::sleep(self.delay);
        self.calls.lock().unwrap().push(frame.rows());
        self.running.fetch_sub(1, Ordering::SeqCst);
        let Values::Numeric(x) = &frame.columns()[0].values else {
            return Err(ModelError::Input("x must be numeric".into()));
        };
        if x.iter().any(|v| *v < 0.0) {
            return Err(ModelError::Input("x must not be negative".into()));
        }
        Ok(Predictions::Values(x.iter().map(|v| v * 2.0).collect()))
    }
}

fn frame(values: &[f64]) -> Frame {
    Frame::new(vec![Column::numeric("x", values.to_vec())]).unwrap()
}

fn values(answer: &Answer) -> Vec<f64> {
    match &answer.predictions {
        Predictions::Values(v) => v.clone(),
        other => panic!("expected values, got {other:?}"),
    }
}

fn config(workers: usize) -> BatchConfig {
    BatchConfig {
        workers,
        ..BatchConfig::default()
    }
}

#[tokio::test]
async fn each_request_gets_its_own_rows_back() {
    let model = Doubler::new(Duration::ZERO);
    let batcher = Batcher::start(model, config(2), None);
    let answer = batcher.predict(frame(&[1.0, 2.5])).await.unwrap();
    assert_eq!(values(&answer), vec![2.0, 5.0]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_requests_share_model_calls_and_keep_their_answers() {
    // One slow worker: while it runs, the other requests queue up and are
    // then answered together.
    let model = Doubler::new(Duration::from_millis(30));
    let batcher = Arc::new(Batcher::start(model.clone(), config(1), None));
    let tasks: Vec<_> = (0..40)
        .map(|i| {
            let batcher = batcher.clone();
            tokio::spawn(async move {
                let answer = batcher.predict(frame(&[i as f64])).await.unwrap();
                (i, values(&answer), answer.batch_rows)
            })
        })
        .collect();
    for task in tasks {
        let (i, got, _) = task.await.unwrap();
        assert_eq!(
            got,
            vec![2.0 * i as f64],
            "request {i} got another's answer"
        );
    }
    let calls = model.calls.lock().unwrap().clone();
    assert_eq!(calls.iter().sum::<usize>(), 40);
    assert!(calls.len() < 40, "no batching happened: {calls:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn batches_never_exceed_the_row_limit_and_workers_are_bounded() {
    let model = Doubler::new(Duration::from_millis(5));
    let batcher = Arc::new(Batcher::start(
        model.clone(),
        BatchConfig {
            max_batch_rows: 5,
            workers: 2,
            ..BatchConfig::default()
        },
        None,
    ));
    let tasks: Vec<_> = (0..30)
        .map(|i| {
            let batcher = batcher.clone();
            tokio::spawn(async move { batcher.predict(frame(&[i as f64, 1.0])).await })
        })
        .collect();
    for task in tasks {
        task.await.unwrap().unwrap();
    }
    let calls = model.calls.lock().unwrap().clone();
    assert!(calls.iter().all(|&rows| rows <= 5), "{calls:?}");
    assert!(model.most_running.load(Ordering::SeqCst) <= 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_queue_refuses_at_once_instead_of_growing() {
    let model = Doubler::new(Duration::from_millis(300));
    let batcher = Arc::new(Batcher::start(
        model,
        BatchConfig {
            max_batch_rows: 1,
            queue_rows: 2,
            workers: 1,
            ..BatchConfig::default()
        },
        None,
    ));
    // The first is taken by the worker; two more fill the queue.
    let mut waiting = Vec::new();
    for i in 0..3 {
        let batcher = batcher.clone();
        waiting.push(tokio::spawn(async move {
            batcher.predict(frame(&[i as f64])).await
        }));
        tokio::time::sleep(Duration::from_millis(30)).await;
    }
    let refused = batcher.predict(frame(&[9.0])).await.unwrap_err();
    assert!(matches!(refused, ServeError::Unavailable(_)), "{refused:?}");
    assert_eq!(
        refused.status(),
        axum::http::StatusCode::SERVICE_UNAVAILABLE
    );
    for task in waiting {
        task.await.unwrap().unwrap();
    }
}

#[tokio::test]
async fn a_request_bigger_than_the_queue_is_too_large() {
    let batcher = Batcher::start(
        Doubler::new(Duration::ZERO),
        BatchConfig {
            max_batch_rows: 2,
            queue_rows: 4,
            ..BatchConfig::default()
        },
        None,
    );
    let error = batcher.predict(frame(&[1.0; 5])).await.unwrap_err();
    assert!(matches!(error, ServeError::PayloadTooLarge(_)), "{error:?}");
}

#[tokio::test]
async fn a_slow_model_times_out_and_the_abandoned_request_is_skipped() {
    let model = Doubler::new(Duration::from_millis(200));
    let batcher = Batcher::start(
        model.clone(),
        BatchConfig {
            timeout_ms: 50,
            workers: 1,
            max_batch_rows: 1,
            ..BatchConfig::default()
        },
        None,
    );
    let error = batcher.predict(frame(&[1.0])).await.unwrap_err();
    assert!(matches!(error, ServeError::Timeout(_)), "{error:?}");
    assert_eq!(error.status(), axum::http::StatusCode::GATEWAY_TIMEOUT);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_request_in_a_batch_fails_alone_when_run_alone() {
    let batcher = Batcher::start(Doubler::new(Duration::ZERO), config(1), None);
    let error = batcher.predict(frame(&[-1.0])).await.unwrap_err();
    assert!(matches!(error, ServeError::InvalidInput(_)), "{error:?}");
    let ok = batcher.predict(frame(&[3.0])).await.unwrap();
    assert_eq!(values(&ok), vec![6.0]);
}

#[tokio::test]
async fn linger_collects_requests_up_to_the_delay() {
    let model = Doubler::new(Duration::ZERO);
    let batcher = Arc::new(Batcher::start(
        model.clone(),
        BatchConfig {
            max_delay_us: 100_000,
            workers: 1,
            ..BatchConfig::default()
        },
        None,
    ));
    let tasks: Vec<_> = (0..5)
        .map(|i| {
            let batcher = batcher.clone();
            tokio::spawn(async move { batcher.predict(frame(&[i as f64])).await })
        })
        .collect();
    for task in tasks {
        task.await.unwrap().unwrap();
    }
    let calls = model.calls.lock().unwrap().clone();
    assert_eq!(calls, vec![5], "the five requests should run as one batch");
}

#[test]
fn split_cuts_classes_and_probabilities_per_request() {
    let predictions = Predictions::Classes {
        classes: vec!["a".into(), "b".into()],
        labels: vec!["a".into(), "b".into(), "b".into()],
        probabilities: vec![vec![0.9, 0.1], vec![0.2, 0.8], vec![0.4, 0.6]],
    };
    let parts = split(predictions, &[1, 2]).unwrap();
    assert_eq!(parts[0].len(), 1);
    let Predictions::Classes {
        labels,
        probabilities,
        ..
    } = &parts[1]
    else {
        panic!()
    };
    assert_eq!(labels, &["b", "b"]);
    assert_eq!(probabilities[1], vec![0.4, 0.6]);
    assert!(split(Predictions::Values(vec![1.0]), &[2]).is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fast_models_run_inline_and_slow_ones_through_the_queue() {
    let fast = Batcher::start(Doubler::new(Duration::ZERO), config(1), None);
    // The first call is unmeasured, so it queues; then the model is known
    // to be fast and calls run on the request's own task.
    let first = fast.predict(frame(&[1.0])).await.unwrap();
    assert!(first.queued > Duration::ZERO || first.batch_rows == 1);
    let mut inline = 0;
    for i in 0..20 {
        let answer = fast.predict(frame(&[i as f64])).await.unwrap();
        assert_eq!(values(&answer), vec![2.0 * i as f64]);
        inline += usize::from(answer.queued == Duration::ZERO);
    }
    // A call preempted on a busy machine raises the moving average for a
    // few calls (they queue, correctly); most must still run inline.
    assert!(inline >= 10, "only {inline} of 20 fast calls ran inline");

    let slow = Batcher::start(Doubler::new(Duration::from_millis(2)), config(1), None);
    for _ in 0..5 {
        let answer = slow.predict(frame(&[1.0])).await.unwrap();
        assert!(answer.queued > Duration::ZERO, "a 2 ms model ran inline");
    }
}
