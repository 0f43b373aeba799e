//! PromQL evaluation with Prometheus' semantics over any data source that implements
//! [`Queryable`] (the embedded store, later a ClickHouse backend). Parsing is
//! GreptimeTeam's `promql-parser`; this crate owns evaluation and the HTTP API's JSON shape of
//! results ([`json::data`]).
//!
//! The semantics followed are those of Prometheus 2.x' promql/engine.go, functions.go and
//! quantile.go (checked against Debian's Prometheus 2.42 by `tests/vs_prometheus.rs`):
//! closed range windows `[t - range, t]` and a closed 5 minute lookback for instant
//! selectors (Prometheus 3 made both left-open), stale markers ending a series, range-query
//! step alignment and the 11,000 points limit, errors in Prometheus' wording with its
//! `errorType`s. One deliberate default differs from 2.42: native `histogram_quantile` and
//! `histogram_fraction` interpolate logarithmically inside exponential buckets as Prometheus
//! 3.0+ does (`Engine::exponential_interpolation = false` gives 2.42's linear estimate).
//!
//! Evaluation runs step by step over series fetched once per selector for the whole query
//! window; in a range query, range-vector functions of a selector are computed series by
//! series for all steps at once, and subqueries keep inner results across outer steps.
//!
//! Implemented: number and string literals; vector selectors with `=`, `!=`, `=~`, `!~`
//! (regexes fully anchored, Go RE2 syntax through `goregex`); range vectors; `offset` (also
//! negative); `@` (with `start()`/`end()`); subqueries; unary minus; all binary operators
//! (`+ - * / % ^ atan2`, comparisons with and without `bool`, `and or unless`) with
//! `on`/`ignoring` and `group_left`/`group_right`, and Prometheus' matching errors; the
//! aggregations `sum avg min max count group stddev stdvar topk bottomk quantile
//! count_values` with `by`/`without`; the functions `rate irate increase delta idelta deriv
//! predict_linear resets changes double_exponential_smoothing`, the `*_over_time` family
//! (`avg min max sum count last present stddev stdvar quantile`), `absent absent_over_time abs
//! ceil floor round clamp clamp_min clamp_max sqrt exp ln log2 log10 sgn`, trigonometric
//! functions, `deg rad pi time timestamp vector scalar label_replace label_join sort sort_desc
//! histogram_quantile` (classic `le` buckets and native histograms) `histogram_count
//! histogram_sum histogram_avg histogram_fraction minute hour day_of_week day_of_month
//! day_of_year days_in_month month year`. Native histograms also work in `rate`, `increase`,
//! `delta`, `sum`, `+`, `-`, `*`/`/` by a scalar, `last_over_time` and `count_over_time`.
//! Metric names are dropped where Prometheus drops them.
//!
//! Refused with an execution error naming the construct: the experimental or newer functions
//! `histogram_stddev`, `histogram_stdvar`, `info`, `sort_by_label(_desc)`, `first_over_time`,
//! `mad_over_time`, `ts_of_*_over_time` and the like, the aggregations `limitk`/`limit_ratio`,
//! the `fill` modifiers and `or` inside a selector. `holt_winters` (Prometheus 2.x' name of
//! `double_exponential_smoothing`) is registered with the parser, which no longer knows it.
//!
//! Limits: `Engine::max_samples` (as `--query.max-samples`: samples held by one step, also
//! bounding the samples fetched for a query and the results a range query holds), 11,000
//! points per series of a range query, `Engine::timeout_ms` (`--query.timeout`).
//!
//! Also here: [`parse_matchers`] for the `match[]` parameter of the metadata APIs, and
//! [`api::parse_time`]/[`api::parse_duration`] for the query APIs' parameters.

pub mod api;
pub mod fuzzing;
pub mod histogram;
pub mod json;

mod eval;

pub use histogram::{CounterResetHint, FloatHistogram};

/// Label sets and matchers (the definitions the store and LogQL share).
pub use labels::{Labels, MatchOp, Matcher};

/// Prometheus' stale marker: a NaN with this exact bit pattern ends a series.
pub const STALE_NAN_BITS: u64 = 0x7ff0_0000_0000_0002;

pub fn is_stale_nan(v: f64) -> bool {
    v.to_bits() == STALE_NAN_BITS
}

/// One stored series as a data source returns it: samples sorted by time. A series may hold
/// floats and histograms (a metric that changed type); a float stale marker also ends a
/// histogram series.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Series {
    pub labels: Labels,
    pub floats: Vec<(i64, f64)>,
    pub histograms: Vec<(i64, FloatHistogram)>,
}

/// What a data source implements. `select` returns every series matching all matchers (a
/// `metric{...}` selector arrives with a `__name__` equality matcher; an absent label
/// matches as ""), with the samples whose timestamps lie in `[min_ms, max_ms]`, stale
/// markers included. More samples are harmless, fewer change results; series may come in
/// any order and split in several entries with the same labels. It is called once per
/// selector of a query, before evaluation.
pub trait Queryable {
    fn select(&self, matchers: &[Matcher], min_ms: i64, max_ms: i64)
    -> Result<Vec<Series>, String>;
}

impl<T: Queryable + ?Sized> Queryable for &T {
    fn select(&self, m: &[Matcher], min_ms: i64, max_ms: i64) -> Result<Vec<Series>, String> {
        (**self).select(m, min_ms, max_ms)
    }
}

/// Series held in memory as a data source (tests, fuzzing, small embeddings): `select` returns
/// the matching series with their samples in the window.
#[derive(Clone, Debug, Default)]
pub struct MemorySeries(pub Vec<Series>);

impl Queryable for MemorySeries {
    fn select(&self, m: &[Matcher], min_ms: i64, max_ms: i64) -> Result<Vec<Series>, String> {
        let within = |t: i64| t >= min_ms && t <= max_ms;
        Ok(self
            .0
            .iter()
            .filter(|s| m.iter().all(|m| m.matches_labels(&s.labels)))
            .map(|s| Series {
                labels: s.labels.clone(),
                floats: s.floats.iter().filter(|p| within(p.0)).copied().collect(),
                histograms: s
                    .histograms
                    .iter()
                    .filter(|p| within(p.0))
                    .cloned()
                    .collect(),
            })
            .collect())
    }
}

/// A vector element's value.
#[derive(Clone, Debug, PartialEq)]
pub enum SampleValue {
    Float(f64),
    Histogram(Box<FloatHistogram>),
}

/// An element of an instant vector.
#[derive(Clone, Debug, PartialEq)]
pub struct Sample {
    pub labels: Labels,
    pub t: i64,
    pub value: SampleValue,
}

/// A query result.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Scalar(i64, f64),
    String(i64, String),
    Vector(Vec<Sample>),
    /// Sorted by labels.
    Matrix(Vec<Series>),
}

#[derive(Clone, Debug, PartialEq)]
pub enum Error {
    /// The query does not parse or does not type-check (HTTP 400, `bad_data`).
    Parse(String),
    /// Bad query parameters: step, time range, resolution (HTTP 400, `bad_data`).
    BadData(String),
    /// Evaluation failed (HTTP 422, `execution`).
    Execution(String),
    /// More samples than `Engine::max_samples` at once (HTTP 422, `execution`).
    TooManySamples,
    /// The data source failed (HTTP 500, `internal`).
    Storage(String),
    /// Evaluation took longer than `Engine::timeout_ms` (HTTP 503, `timeout`).
    Timeout,
}

impl Error {
    /// Prometheus' `errorType` for the API's error body.
    pub fn error_type(&self) -> &'static str {
        match self {
            Error::Parse(_) | Error::BadData(_) => "bad_data",
            Error::Execution(_) | Error::TooManySamples => "execution",
            Error::Storage(_) => "internal",
            Error::Timeout => "timeout",
        }
    }

    /// The HTTP status Prometheus answers with.
    pub fn http_status(&self) -> u16 {
        match self {
            Error::Parse(_) | Error::BadData(_) => 400,
            Error::Execution(_) | Error::TooManySamples => 422,
            Error::Storage(_) => 500,
            Error::Timeout => 503,
        }
    }
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Error::Parse(m) | Error::BadData(m) | Error::Execution(m) => f.write_str(m),
            Error::TooManySamples => f.write_str(
                "query processing would load too many samples into memory in query execution",
            ),
            Error::Storage(m) => write!(f, "expanding series: {m}"),
            Error::Timeout => f.write_str("query timed out in expression evaluation"),
        }
    }
}

impl std::error::Error for Error {}

/// Query settings (Prometheus' command-line defaults).
#[derive(Clone, Debug)]
pub struct Engine {
    /// How far back an instant selector looks for a sample (`--query.lookback-delta`, 5m).
    pub lookback_ms: i64,
    /// Most samples held at once (`--query.max-samples`, 50,000,000).
    pub max_samples: usize,
    /// Most points per series of a range query (11,000 as the HTTP API enforces).
    pub max_points_per_series: i64,
    /// Step of a subquery written without one (the global evaluation interval, 1m).
    pub default_subquery_step_ms: i64,
    /// Native `histogram_quantile` interpolates logarithmically inside exponential buckets
    /// (Prometheus 3.0+); false gives the linear interpolation of earlier releases.
    pub exponential_interpolation: bool,
    /// Longest evaluation (`--query.timeout`, 2m); the data source's time counts too.
    pub timeout_ms: u64,
}

impl Default for Engine {
    fn default() -> Self {
        Self {
            lookback_ms: 5 * 60 * 1000,
            max_samples: 50_000_000,
            max_points_per_series: 11_000,
            default_subquery_step_ms: 60_000,
            exponential_interpolation: true,
            timeout_ms: 120_000,
        }
    }
}

/// Parses a query (the parser's wording in the error).
pub fn parse(query: &str) -> Result<promql_parser::parser::Expr, Error> {
    static EXTRA: std::sync::Once = std::sync::Once::new();
    EXTRA.call_once(|| {
        use promql_parser::parser::{Function, value::ValueType};
        // Prometheus 2.x' name of double_exponential_smoothing, which the parser (following
        // Prometheus 3) no longer knows; dashboards written for 2.x still use it.
        let _ = promql_parser::parser::register_extra_functions(vec![Function::new(
            "holt_winters",
            vec![ValueType::Matrix, ValueType::Scalar, ValueType::Scalar],
            0,
            ValueType::Vector,
            false,
        )]);
    });
    promql_parser::parser::parse(query).map_err(Error::Parse)
}

/// The matchers of a series selector such as `up{job="api"}` (the `match[]` parameter of
/// `/api/v1/series`, `/labels`, `/label/{name}/values`); anything but a plain selector is
/// bad data.
pub fn parse_matchers(selector: &str) -> Result<Vec<Matcher>, Error> {
    match parse(selector)? {
        promql_parser::parser::Expr::VectorSelector(vs)
            if vs.offset.is_none() && vs.at.is_none() =>
        {
            eval::selector_matchers(&vs).map_err(|e| Error::BadData(e.to_string()))
        }
        _ => Err(Error::BadData(format!(
            "invalid parameter \"match[]\": {selector} is not a series selector"
        ))),
    }
}

impl Engine {
    /// Evaluates `query` at `t_ms` (`/api/v1/query`).
    pub fn instant(&self, q: &dyn Queryable, query: &str, t_ms: i64) -> Result<Value, Error> {
        let expr = parse(query)?;
        eval::instant(self, q, &expr, t_ms)
    }

    /// Evaluates `query` at `start_ms, start_ms + step_ms, ... <= end_ms`
    /// (`/api/v1/query_range`); the result is a matrix.
    pub fn range(
        &self,
        q: &dyn Queryable,
        query: &str,
        start_ms: i64,
        end_ms: i64,
        step_ms: i64,
    ) -> Result<Value, Error> {
        if step_ms <= 0 {
            return Err(Error::BadData(
                "invalid parameter \"step\": zero or negative query resolution step widths are not accepted. Try a positive integer".into(),
            ));
        }
        if end_ms < start_ms {
            return Err(Error::BadData(
                "invalid parameter \"end\": end timestamp must not be before start time".into(),
            ));
        }
        if (end_ms as i128 - start_ms as i128) / step_ms as i128
            > self.max_points_per_series as i128
        {
            return Err(Error::BadData(format!(
                "exceeded maximum resolution of {} points per timeseries. Try decreasing the query resolution (?step=XX)",
                group_thousands(self.max_points_per_series)
            )));
        }
        let expr = parse(query)?;
        eval::range(self, q, &expr, start_ms, end_ms, step_ms)
    }
}

fn group_thousands(n: i64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Formats a sample value as Prometheus' HTTP API does (jsonutil.MarshalValue): Go's
/// shortest decimal form, switching to exponent form below 1e-6 and from 1e21 on, and `NaN`,
/// `+Inf`, `-Inf`.
pub fn format_value(f: f64) -> String {
    let abs = f.abs();
    if f.is_finite() && abs != 0.0 && !(1e-6..1e21).contains(&abs) {
        return go_exp(f);
    }
    format_float(f)
}

/// Go's shortest exponent form (`strconv.FormatFloat(f, 'e', -1, 64)`): Rust writes 1.5e-7,
/// Go 1.5e-07 (a sign and at least two exponent digits).
pub(crate) fn go_exp(f: f64) -> String {
    let s = format!("{f:e}");
    let (mantissa, exp) = s.split_once('e').unwrap_or((&s, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let sign = if exp < 0 { '-' } else { '+' };
    format!("{mantissa}e{sign}{:02}", exp.abs())
}

/// Go's `strconv.FormatFloat(f, 'f', -1, 64)` with Prometheus' spellings of the special
/// values: the label value `count_values` writes.
pub fn format_float(f: f64) -> String {
    if f.is_nan() {
        "NaN".into()
    } else if f == f64::INFINITY {
        "+Inf".into()
    } else if f == f64::NEG_INFINITY {
        "-Inf".into()
    } else {
        // Rust's Display is the shortest round-trip form without an exponent, as Go's 'f', -1.
        format!("{f}")
    }
}
