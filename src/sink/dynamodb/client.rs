//! A small DynamoDB client: JSON over HTTPS, signed with SigV4, for the
//! five calls a load makes (DescribeTable, CreateTable, DeleteTable,
//! BatchWriteItem). Configured by the standard variables:
//! `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`,
//! `AWS_REGION`/`AWS_DEFAULT_REGION`, and `AWS_ENDPOINT_URL_DYNAMODB` or
//! `AWS_ENDPOINT_URL` for another endpoint (a local server).

use std::time::Duration;

use serde_json::Value;

use super::sigv4::{self, Credentials};
use crate::error::{Error, Result};
use crate::location::redact;
use crate::sink::backoff::Backoff;

pub struct Client {
    http: reqwest::Client,
    endpoint: url::Url,
    /// `host[:port]` as the request sends it (and as it is signed).
    host: String,
    region: String,
    creds: Credentials,
}

/// An answer other than success, as the service typed it.
#[derive(Debug)]
pub struct ApiError {
    /// The exception's short name, e.g. `ResourceNotFoundException`.
    pub kind: String,
    pub message: String,
    pub status: u16,
}

impl ApiError {
    fn retryable(&self) -> bool {
        self.status >= 500
            || matches!(
                self.kind.as_str(),
                "ProvisionedThroughputExceededException"
                    | "ThrottlingException"
                    | "RequestLimitExceeded"
                    | "LimitExceededException"
                    | "InternalServerError"
                    | "ServiceUnavailable"
                    | "TransactionInProgressException"
            )
    }
}

pub enum CallError {
    /// The service answered with an error.
    Api(ApiError),
    /// No answer (connection refused, timed out), after retries.
    Unreachable(String),
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

impl Client {
    pub fn from_env() -> Result<Client> {
        let access_key = env("AWS_ACCESS_KEY_ID");
        let secret_key = env("AWS_SECRET_ACCESS_KEY");
        let (Some(access_key), Some(secret_key)) = (access_key, secret_key) else {
            return Err(Error::usage(
                "DynamoDB needs credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN for temporary ones); profiles and instance roles are not read",
            ));
        };
        let endpoint_var = env("AWS_ENDPOINT_URL_DYNAMODB").or_else(|| env("AWS_ENDPOINT_URL"));
        let region = match env("AWS_REGION").or_else(|| env("AWS_DEFAULT_REGION")) {
            Some(r) => r,
            // A local server takes any region.
            None if endpoint_var.is_some() => "us-east-1".to_string(),
            None => {
                return Err(Error::usage(
                    "DynamoDB needs a region: set AWS_REGION (or AWS_DEFAULT_REGION)",
                ))
            }
        };
        let endpoint_text =
            endpoint_var.unwrap_or_else(|| format!("https://dynamodb.{region}.amazonaws.com"));
        let endpoint = url::Url::parse(&endpoint_text).map_err(|e| {
            Error::usage(format!(
                "{}: not a valid DynamoDB endpoint URL ({e})",
                redact(&endpoint_text)
            ))
        })?;
        if !matches!(endpoint.scheme(), "http" | "https") || endpoint.host_str().is_none() {
            return Err(Error::usage(format!(
                "{}: the DynamoDB endpoint must be an http:// or https:// URL",
                redact(&endpoint_text)
            )));
        }
        let host = match endpoint.port() {
            Some(p) => format!("{}:{p}", endpoint.host_str().unwrap_or_default()),
            None => endpoint.host_str().unwrap_or_default().to_string(),
        };
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .timeout(Duration::from_secs(60))
            .build()
            .map_err(|e| Error::io(format!("cannot start an HTTP client: {e}")))?;
        Ok(Client {
            http,
            endpoint,
            host,
            region,
            creds: Credentials {
                access_key,
                secret_key,
                session_token: env("AWS_SESSION_TOKEN"),
            },
        })
    }

    /// The endpoint as messages show it.
    pub fn endpoint(&self) -> String {
        redact(self.endpoint.as_str())
    }

    /// One call, tried again with backoff while the service is throttling
    /// or failing, or cannot be reached (`attempts` tries in all).
    pub async fn call(
        &self,
        op: &str,
        body: &Value,
        attempts: u32,
    ) -> std::result::Result<Value, CallError> {
        let body = serde_json::to_vec(body).expect("JSON values serialize");
        let mut backoff = Backoff::new(attempts, Duration::from_millis(50), Duration::from_secs(5));
        loop {
            let failure = match self.once(op, &body).await {
                Ok(v) => return Ok(v),
                Err(CallError::Api(e)) if !e.retryable() => return Err(CallError::Api(e)),
                Err(e) => e,
            };
            match backoff.next_delay() {
                Some(d) => tokio::time::sleep(d).await,
                None => return Err(failure),
            }
        }
    }

    async fn once(&self, op: &str, body: &[u8]) -> std::result::Result<Value, CallError> {
        let amz_date = chrono::Utc::now().format("%Y%m%dT%H%M%SZ").to_string();
        let target = format!("DynamoDB_20120810.{op}");
        let payload = sigv4::sha256_hex(body);
        let mut headers: Vec<(&str, &str)> = vec![
            ("content-type", "application/x-amz-json-1.0"),
            ("host", &self.host),
            ("x-amz-date", &amz_date),
            ("x-amz-target", &target),
        ];
        if let Some(t) = &self.creds.session_token {
            headers.push(("x-amz-security-token", t));
        }
        let auth = sigv4::authorization(
            &self.creds,
            &self.region,
            "dynamodb",
            &amz_date,
            &sigv4::Request {
                method: "POST",
                path: "/",
                query: "",
                headers: &headers,
                payload_sha256: &payload,
            },
        );
        let mut rb = self.http.post(self.endpoint.clone());
        for (k, v) in &headers {
            if *k != "host" {
                rb = rb.header(*k, *v);
            }
        }
        let resp = rb
            .header("authorization", auth)
            .body(body.to_vec())
            .send()
            .await
            .map_err(|e| CallError::Unreachable(cause(&e)))?;
        let status = resp.status().as_u16();
        let text = resp
            .text()
            .await
            .map_err(|e| CallError::Unreachable(cause(&e)))?;
        let value: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        if (200..300).contains(&status) {
            return Ok(value);
        }
        let kind = value
            .get("__type")
            .and_then(Value::as_str)
            .map(|t| t.rsplit('#').next().unwrap_or(t).to_string())
            .unwrap_or_else(|| format!("HTTP {status}"));
        let message = value
            .get("message")
            .or_else(|| value.get("Message"))
            .and_then(Value::as_str)
            .map(str::to_string)
            .unwrap_or_else(|| text.chars().take(300).collect());
        Err(CallError::Api(ApiError {
            kind,
            message: redact(&message),
            status,
        }))
    }
}

/// The innermost cause of a request error ("Connection refused").
fn cause(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        return "timed out".into();
    }
    let mut s: &dyn std::error::Error = e;
    while let Some(next) = s.source() {
        s = next;
    }
    redact(&s.to_string())
}
