//! One structured log line per request: what was asked, what happened, how long each step took.

use crate::response::Answer;
use serde_json::{json, Map, Value};

#[derive(Debug, Clone, PartialEq)]
pub struct Log {
    pub uri: String,
    pub origin_status: u16,
    /// `pass`, `rejected`, `generated`, `stored` (answered a variant already in storage),
    /// `redirect`, `client-error`, `failed`.
    pub outcome: &'static str,
    pub status: u16,
    pub variant: Option<String>,
    pub source: Option<String>,
    pub bytes_in: Option<u64>,
    pub bytes_out: Option<u64>,
    pub width: Option<u32>,
    pub height: Option<u32>,
    /// Milliseconds per step, in the order they ran; `total` is added by [`Log::to_json`].
    pub ms: Vec<(&'static str, f64)>,
    pub total_ms: f64,
    /// The error table's kind of a failure ([`crate::Failure::kind`]).
    pub kind: Option<&'static str>,
    /// The cause of a failure (never swallowed: I6).
    pub error: Option<String>,
    started: f64,
}

impl Log {
    pub(crate) fn new(uri: &str, origin_status: u16, started: f64) -> Log {
        Log {
            uri: uri.to_string(),
            origin_status,
            outcome: "",
            status: 0,
            variant: None,
            source: None,
            bytes_in: None,
            bytes_out: None,
            width: None,
            height: None,
            ms: Vec::new(),
            total_ms: 0.0,
            kind: None,
            error: None,
            started,
        }
    }

    pub(crate) fn finish(&mut self, answer: &Answer, now: f64) {
        self.total_ms = now - self.started;
        self.status = match answer {
            Answer::PassThrough => self.origin_status,
            Answer::Respond(r) => r.status,
        };
        if self.outcome.is_empty() {
            self.outcome = match (answer, self.status) {
                (Answer::PassThrough, _) => "pass",
                (_, 400) => "rejected",
                (_, s) if s >= 500 => "failed",
                _ => "client-error",
            };
        }
        if let Answer::Respond(r) = answer {
            // A variant's size is recorded when it is made; otherwise the body sent.
            self.bytes_out.get_or_insert(r.bytes_out() as u64);
        }
    }

    /// Milliseconds spent in `step`, if it ran.
    pub fn step_ms(&self, step: &str) -> Option<f64> {
        self.ms.iter().find(|(s, _)| *s == step).map(|(_, ms)| *ms)
    }

    pub fn to_json(&self) -> Value {
        let round = |ms: f64| (ms * 10.0).round() / 10.0;
        let mut ms: Map<String, Value> = self
            .ms
            .iter()
            .map(|(step, v)| (step.to_string(), json!(round(*v))))
            .collect();
        ms.insert("total".into(), json!(round(self.total_ms)));
        let mut line = json!({
            "msg": "scalefront origin",
            "uri": self.uri,
            "origin_status": self.origin_status,
            "outcome": self.outcome,
            "status": self.status,
            "ms": ms,
        });
        let obj = line.as_object_mut().expect("an object literal");
        let optional = [
            ("variant", self.variant.clone().map(Value::from)),
            ("source", self.source.clone().map(Value::from)),
            ("bytes_in", self.bytes_in.map(Value::from)),
            ("bytes_out", self.bytes_out.map(Value::from)),
            ("width", self.width.map(Value::from)),
            ("height", self.height.map(Value::from)),
            ("kind", self.kind.map(Value::from)),
            ("error", self.error.clone().map(Value::from)),
        ];
        for (k, v) in optional {
            if let Some(v) = v {
                obj.insert(k.into(), v);
            }
        }
        line
    }

    /// The line the host prints (stdout: CloudWatch in Lambda).
    pub fn to_json_line(&self) -> String {
        self.to_json().to_string()
    }
}
