//! Progress while the load runs (a live line on a terminal, plain lines
//! otherwise) and the final summary as text or JSON.

use std::io::IsTerminal;
use std::time::Duration;

use hdrhistogram::Histogram;
use indicatif::{ProgressBar, ProgressStyle};

pub enum Progress {
    Live(ProgressBar),
    Lines,
    Quiet,
}

impl Progress {
    pub fn new(json: bool) -> Self {
        if json {
            Progress::Quiet
        } else if std::io::stderr().is_terminal() {
            let bar = ProgressBar::new_spinner();
            bar.set_style(ProgressStyle::with_template("{spinner} {msg}").expect("valid template"));
            Progress::Live(bar)
        } else {
            Progress::Lines
        }
    }

    pub fn line(&self, text: &str) {
        match self {
            Progress::Live(bar) => bar.println(text),
            Progress::Lines => eprintln!("{text}"),
            Progress::Quiet => {}
        }
    }

    pub fn tick(&self, elapsed: Duration, messages: u64, rate: f64, mismatches: u64) {
        let text = format!(
            "{:>5.1} s  {messages} echoes  {rate:.0} msgs/s  {mismatches} mismatches",
            elapsed.as_secs_f64()
        );
        match self {
            Progress::Live(bar) => bar.set_message(text),
            Progress::Lines => eprintln!("{text}"),
            Progress::Quiet => {}
        }
    }

    pub fn finish(&self) {
        if let Progress::Live(bar) = self {
            bar.finish_and_clear();
        }
    }
}

pub struct Summary<'a> {
    pub url: &'a str,
    pub conns: usize,
    pub opened: u64,
    pub size: usize,
    pub text: bool,
    pub pipeline: usize,
    pub rate: Option<f64>,
    pub elapsed: Duration,
    pub messages: u64,
    pub mismatches: u64,
    pub connection_errors: u64,
    /// Messages never echoed (timed in `latency` up to the run's end).
    pub unanswered: u64,
    pub latency: Histogram<u64>,
}

impl Summary<'_> {
    fn per_second(&self) -> f64 {
        self.messages as f64 / self.elapsed.as_secs_f64()
    }

    /// Payload megabytes per second, each way.
    fn megabytes(&self) -> f64 {
        self.per_second() * self.size as f64 / 1e6
    }

    fn mode(&self) -> String {
        match self.rate {
            Some(rate) => format!("open loop at {rate} msgs/s"),
            None => format!("closed loop, {} in flight per connection", self.pipeline),
        }
    }

    fn quantiles(&self) -> [(&'static str, u64); 5] {
        let h = &self.latency;
        [
            ("p50", h.value_at_quantile(0.50)),
            ("p90", h.value_at_quantile(0.90)),
            ("p99", h.value_at_quantile(0.99)),
            ("p99.9", h.value_at_quantile(0.999)),
            ("max", h.max()),
        ]
    }

    pub fn text(&self) -> String {
        let kind = if self.text { "text" } else { "binary" };
        let latency: Vec<String> = self
            .quantiles()
            .iter()
            .map(|(name, us)| format!("{name} {us} µs"))
            .collect();
        format!(
            "{url}: {opened}/{conns} connections × {size} B {kind}, {mode}\n\
             {messages} echoes in {secs:.2} s: {rate:.0} msgs/s, {mb:.1} MB/s each way\n\
             round trip: {latency}\n\
             mismatches: {mismatches}, connection errors: {errors}, never answered: {unanswered}",
            url = self.url,
            opened = self.opened,
            conns = self.conns,
            size = self.size,
            mode = self.mode(),
            messages = self.messages,
            secs = self.elapsed.as_secs_f64(),
            rate = self.per_second(),
            mb = self.megabytes(),
            latency = latency.join(", "),
            mismatches = self.mismatches,
            errors = self.connection_errors,
            unanswered = self.unanswered,
        )
    }

    pub fn json(&self) -> String {
        let latency: Vec<String> = self
            .quantiles()
            .iter()
            .map(|(name, us)| format!("\"{name}\":{us}"))
            .collect();
        format!(
            "{{\"url\":{url:?},\"conns\":{conns},\"opened\":{opened},\"size\":{size},\"text\":{text},\
             \"pipeline\":{pipeline},\"rate\":{rate},\"seconds\":{secs:.3},\"messages\":{messages},\
             \"msgs_per_s\":{mps:.1},\"mb_per_s\":{mb:.3},\"latency_us\":{{{latency}}},\
             \"mismatches\":{mismatches},\"connection_errors\":{errors},\"unanswered\":{unanswered}}}",
            url = self.url,
            conns = self.conns,
            opened = self.opened,
            size = self.size,
            text = self.text,
            pipeline = self.pipeline,
            rate = self.rate.map_or("null".to_string(), |r| r.to_string()),
            secs = self.elapsed.as_secs_f64(),
            messages = self.messages,
            mps = self.per_second(),
            mb = self.megabytes(),
            latency = latency.join(","),
            mismatches = self.mismatches,
            errors = self.connection_errors,
            unanswered = self.unanswered,
        )
    }
}
