//! Uploads to Google Cloud Storage through its JSON API. object_store
//! writes through the XML API, which the GCS emulator (fake-gcs-server) does
//! not serve; the JSON API works on both. Small files go up in one
//! multipart request, larger ones as a resumable upload in 8 MiB chunks; the
//! object appears only when the last chunk lands. Reads, listings and
//! deletes stay with object_store.

use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use object_store::gcp::GcpCredentialProvider;

use super::{Fail, FailResult};
use crate::error::Error;

pub struct GcsJson {
    pub client: reqwest::Client,
    /// `https://storage.googleapis.com` or the emulator's URL.
    pub base: String,
    pub bucket: String,
    pub credentials: GcpCredentialProvider,
}

fn enc(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string()
}

fn http_fail(status: reqwest::StatusCode, body: &str, shown: &str) -> Fail {
    let msg = serde_json::from_str::<serde_json::Value>(body)
        .ok()
        .and_then(|v| v["error"]["message"].as_str().map(str::to_string))
        .unwrap_or_else(|| body.chars().take(200).collect());
    let e = match status.as_u16() {
        401 | 403 => Error::io(format!(
            "{shown}: access denied (check GOOGLE_APPLICATION_CREDENTIALS): {msg}"
        )),
        404 => Error::io(format!("{shown}: the bucket does not exist ({msg})")),
        _ => Error::io(format!("{shown}: GCS answered {status}: {msg}")),
    };
    let transient = status.is_server_error() || status.as_u16() == 429 || status.as_u16() == 408;
    Fail {
        error: e,
        transient,
    }
}

fn send_fail(e: reqwest::Error, shown: &str) -> Fail {
    let text = format!("{e:?}");
    if text.contains("Connection refused") || text.contains("ConnectionRefused") {
        return Fail::transient(Error::io(format!(
            "{shown}: connection refused (is the server running? check the endpoint)"
        )));
    }
    if text.contains("dns error") || text.contains("failed to lookup") {
        return Fail::permanent(Error::io(format!("{shown}: unknown host")));
    }
    Fail::transient(Error::io(format!("{shown}: {e}")))
}

impl GcsJson {
    async fn bearer(&self, shown: &str) -> FailResult<Option<String>> {
        let c = self
            .credentials
            .get_credential()
            .await
            .map_err(|e| super::object_error::fail(e, shown))?;
        Ok((!c.bearer.is_empty()).then(|| c.bearer.clone()))
    }

    /// Sends `rb` with the bearer token; a status that is neither a success
    /// nor `accept` becomes the matching error.
    async fn send(
        &self,
        rb: reqwest::RequestBuilder,
        bearer: &Option<String>,
        accept: Option<u16>,
        shown: &str,
    ) -> FailResult<reqwest::Response> {
        let rb = match bearer {
            Some(b) => rb.bearer_auth(b),
            None => rb,
        };
        let r = rb.send().await.map_err(|e| send_fail(e, shown))?;
        let status = r.status();
        if status.is_success() || Some(status.as_u16()) == accept {
            return Ok(r);
        }
        let body = r.text().await.unwrap_or_default();
        Err(http_fail(status, &body, shown))
    }

    fn metadata(name: &str, meta: &[(String, String)]) -> serde_json::Value {
        let m: serde_json::Map<String, serde_json::Value> = meta
            .iter()
            .map(|(k, v)| (k.clone(), serde_json::Value::String(v.clone())))
            .collect();
        serde_json::json!({ "name": name, "metadata": m })
    }

    /// One request: metadata and bytes together.
    pub async fn put_small(
        &self,
        name: &str,
        data: Bytes,
        meta: &[(String, String)],
        shown: &str,
    ) -> FailResult<()> {
        let bearer = self.bearer(shown).await?;
        let boundary = format!("etl-{:016x}", fastrand::u64(..));
        let mut body = BytesMut::new();
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Type: application/json; charset=UTF-8\r\n\r\n{}\r\n--{boundary}\r\nContent-Type: application/octet-stream\r\n\r\n",
                Self::metadata(name, meta)
            )
            .as_bytes(),
        );
        body.extend_from_slice(&data);
        body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
        let url = format!(
            "{}/upload/storage/v1/b/{}/o?uploadType=multipart",
            self.base,
            enc(&self.bucket)
        );
        let rb = self
            .client
            .post(url)
            .header(
                "Content-Type",
                format!("multipart/related; boundary={boundary}"),
            )
            .body(body.freeze());
        self.send(rb, &bearer, None, shown).await?;
        Ok(())
    }

    /// Starts a resumable upload; returns its session URL.
    pub async fn start(
        &self,
        name: &str,
        size: u64,
        meta: &[(String, String)],
        shown: &str,
    ) -> FailResult<String> {
        let bearer = self.bearer(shown).await?;
        let url = format!(
            "{}/upload/storage/v1/b/{}/o?uploadType=resumable&name={}",
            self.base,
            enc(&self.bucket),
            enc(name)
        );
        let rb = self
            .client
            .post(url)
            .header("X-Upload-Content-Length", size.to_string())
            .json(&Self::metadata(name, meta));
        let r = self.send(rb, &bearer, None, shown).await?;
        r.headers()
            .get("location")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
            .ok_or_else(|| {
                Fail::permanent(Error::io(format!("{shown}: GCS gave no upload session")))
            })
    }

    /// Sends bytes `offset..offset+len` of a `total`-byte upload (total known
    /// only for the last chunk).
    pub async fn chunk(
        &self,
        session: &str,
        offset: u64,
        data: Bytes,
        total: Option<u64>,
        shown: &str,
    ) -> FailResult<()> {
        let bearer = self.bearer(shown).await?;
        let end = offset + data.len() as u64;
        let range = match (data.is_empty(), total) {
            (true, Some(t)) => format!("bytes */{t}"),
            (_, Some(t)) => format!("bytes {offset}-{}/{t}", end - 1),
            (_, None) => format!("bytes {offset}-{}/*", end - 1),
        };
        let rb = self
            .client
            .put(session)
            .header("Content-Range", range)
            .body(data);
        // 308: the part arrived, the upload goes on.
        self.send(rb, &bearer, Some(308), shown).await?;
        Ok(())
    }

    /// Cancels a resumable upload: nothing appears.
    pub async fn cancel(&self, session: &str) {
        let _ = self.client.delete(session).send().await;
    }
}

pub fn new(base: &str, bucket: &str, credentials: GcpCredentialProvider) -> Arc<GcsJson> {
    let client = reqwest::Client::builder()
        .connect_timeout(std::time::Duration::from_secs(5))
        .timeout(std::time::Duration::from_secs(300))
        .build()
        .unwrap_or_default();
    Arc::new(GcsJson {
        client,
        base: base.trim_end_matches('/').to_string(),
        bucket: bucket.to_string(),
        credentials,
    })
}
