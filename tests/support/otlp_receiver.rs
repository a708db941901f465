//! An OTLP/HTTP receiver on 127.0.0.1 for the telemetry tests: keeps every
//! POST (path, headers, raw body), answers 200 with an empty protobuf
//! message, and decodes what it got with the opentelemetry-proto types.
//! It can also be told to never answer, to stand for a hung collector.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};

use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{any_value, AnyValue, KeyValue};
use opentelemetry_proto::tonic::metrics::v1::metric;
use opentelemetry_proto::tonic::trace::v1::Span;
use prost::Message as _;

/// One export received.
#[derive(Clone, Debug)]
pub struct Export {
    /// `/v1/traces` or `/v1/metrics`.
    pub path: String,
    /// Header names lowercased.
    pub headers: HashMap<String, String>,
    /// The body as sent.
    pub body: Vec<u8>,
}

/// A histogram's data points, merged.
#[derive(Clone, Debug, Default)]
pub struct Histogram {
    /// The bucket boundaries.
    pub bounds: Vec<f64>,
    /// How many values were recorded, over all points.
    pub count: u64,
    /// Each point's attributes.
    pub points: Vec<Vec<KeyValue>>,
}

/// The receiver; stops accepting when dropped (its thread ends with the test).
pub struct OtlpReceiver {
    addr: SocketAddr,
    exports: Arc<Mutex<Vec<Export>>>,
}

impl OtlpReceiver {
    /// Starts a receiver that answers every export with 200.
    pub fn start() -> OtlpReceiver {
        OtlpReceiver::start_with(false)
    }

    /// Starts one that reads requests and never answers.
    pub fn start_hung() -> OtlpReceiver {
        OtlpReceiver::start_with(true)
    }

    fn start_with(hung: bool) -> OtlpReceiver {
        let listener = TcpListener::bind("127.0.0.1:0").expect("binding the receiver");
        let addr = listener.local_addr().expect("receiver address");
        let exports = Arc::new(Mutex::new(Vec::new()));
        let shared = Arc::clone(&exports);
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let shared = Arc::clone(&shared);
                std::thread::spawn(move || serve(stream, &shared, hung));
            }
        });
        OtlpReceiver { addr, exports }
    }

    /// The base URL to put in `OTEL_EXPORTER_OTLP_ENDPOINT`.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Everything received so far.
    pub fn exports(&self) -> Vec<Export> {
        self.exports.lock().unwrap().clone()
    }

    /// The first trace export as sent (headers and raw body).
    pub fn first_trace_export(&self) -> Export {
        self.exports()
            .into_iter()
            .find(|e| e.path == "/v1/traces")
            .expect("a trace export")
    }

    /// Every trace export, decoded from protobuf.
    fn trace_requests(&self) -> Vec<ExportTraceServiceRequest> {
        self.exports()
            .iter()
            .filter(|e| e.path == "/v1/traces")
            .map(|e| {
                ExportTraceServiceRequest::decode(e.body.as_slice())
                    .expect("a protobuf ExportTraceServiceRequest")
            })
            .collect()
    }

    /// Every span received.
    pub fn spans(&self) -> Vec<Span> {
        self.trace_requests()
            .into_iter()
            .flat_map(|r| r.resource_spans)
            .flat_map(|r| r.scope_spans)
            .flat_map(|s| s.spans)
            .collect()
    }

    /// The resource attributes of the trace exports.
    pub fn resource(&self) -> Vec<KeyValue> {
        self.trace_requests()
            .into_iter()
            .flat_map(|r| r.resource_spans)
            .filter_map(|r| r.resource)
            .flat_map(|r| r.attributes)
            .collect()
    }

    /// Every histogram received, by metric name.
    pub fn histograms(&self) -> HashMap<String, Histogram> {
        let mut out: HashMap<String, Histogram> = HashMap::new();
        let metrics = self
            .exports()
            .into_iter()
            .filter(|e| e.path == "/v1/metrics")
            .flat_map(|e| {
                ExportMetricsServiceRequest::decode(e.body.as_slice())
                    .expect("a protobuf ExportMetricsServiceRequest")
                    .resource_metrics
            })
            .flat_map(|r| r.scope_metrics)
            .flat_map(|s| s.metrics);
        for m in metrics {
            if let Some(metric::Data::Histogram(h)) = m.data {
                let entry = out.entry(m.name.clone()).or_default();
                for point in h.data_points {
                    entry.bounds = point.explicit_bounds.clone();
                    entry.count += point.count;
                    entry.points.push(point.attributes.clone());
                }
            }
        }
        out
    }
}

/// The value of attribute `key`, as text (ints and doubles formatted).
pub fn attribute(attributes: &[KeyValue], key: &str) -> Option<String> {
    attributes
        .iter()
        .find(|kv| kv.key == key)
        .and_then(|kv| kv.value.as_ref())
        .map(text_of)
}

fn text_of(value: &AnyValue) -> String {
    match &value.value {
        Some(any_value::Value::StringValue(s)) => s.clone(),
        Some(any_value::Value::IntValue(i)) => i.to_string(),
        Some(any_value::Value::DoubleValue(d)) => d.to_string(),
        Some(any_value::Value::BoolValue(b)) => b.to_string(),
        Some(any_value::Value::ArrayValue(a)) => {
            a.values.iter().map(text_of).collect::<Vec<_>>().join(",")
        }
        _ => String::new(),
    }
}

/// Serves one connection: requests until it closes.
fn serve(stream: TcpStream, exports: &Mutex<Vec<Export>>, hung: bool) {
    let mut writer = stream.try_clone().expect("cloning the stream");
    let mut reader = BufReader::new(stream);
    loop {
        let mut request_line = String::new();
        if reader.read_line(&mut request_line).unwrap_or(0) == 0 {
            return;
        }
        let path = request_line
            .split_whitespace()
            .nth(1)
            .unwrap_or("")
            .to_string();
        let mut headers = HashMap::new();
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line).unwrap_or(0) == 0 {
                return;
            }
            let line = line.trim_end();
            if line.is_empty() {
                break;
            }
            if let Some((name, value)) = line.split_once(':') {
                headers.insert(name.trim().to_ascii_lowercase(), value.trim().to_string());
            }
        }
        let length: usize = headers
            .get("content-length")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        let mut body = vec![0; length];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        exports.lock().unwrap().push(Export {
            path,
            headers: headers.clone(),
            body,
        });
        if hung {
            std::thread::sleep(std::time::Duration::from_secs(60));
            return;
        }
        let content_type = headers
            .get("content-type")
            .cloned()
            .unwrap_or_else(|| "application/x-protobuf".to_string());
        let reply_body: &[u8] = if content_type.contains("json") {
            b"{}"
        } else {
            b""
        };
        let head = format!(
            "HTTP/1.1 200 OK\r\ncontent-type: {content_type}\r\ncontent-length: {}\r\n\r\n",
            reply_body.len()
        );
        if writer.write_all(head.as_bytes()).is_err() || writer.write_all(reply_body).is_err() {
            return;
        }
    }
}
