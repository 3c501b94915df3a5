//! Object storage through `object_store`: S3 (and S3-compatible servers),
//! Azure Blob and Google Cloud Storage, with the standard credential
//! variables. Uploads larger than one part go up as multipart (block)
//! uploads, several parts at a time, and appear only when complete.

use std::sync::Arc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use futures::stream::{FuturesUnordered, StreamExt};
use object_store::path::Path as ObjPath;
use object_store::{
    Attribute, AttributeValue, Attributes, ClientOptions, GetOptions, MultipartUpload, ObjectStore,
    ObjectStoreExt, PutMultipartOptions, PutOptions, PutPayload, RetryConfig,
};

use super::digest::{self, Digest};
use super::object_error::{config_error, fail};
use super::{Entry, Fail, FailResult, Pending, Place, Reader, Stat, Written};
use crate::error::{Error, Result};
use crate::location::{RemoteUrl, Scheme};

/// How many parts of one upload or download travel at the same time.
const PARTS_IN_FLIGHT: usize = 8;
/// ... and of all files together (memory stays bounded: 16 x 8 MiB).
const PARTS_IN_FLIGHT_TOTAL: usize = 16;

pub struct ObjectBackend {
    store: Arc<dyn ObjectStore>,
    scheme: Scheme,
    /// `s3://bucket` (what paths are shown under).
    base: String,
    /// GCS uploads go through the JSON API (see gcs_upload.rs).
    gcs: Option<Arc<super::gcs_upload::GcsJson>>,
    parts: Arc<tokio::sync::Semaphore>,
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

fn client_options(allow_http: bool) -> ClientOptions {
    ClientOptions::new()
        .with_allow_http(allow_http)
        .with_connect_timeout(Duration::from_secs(5))
        .with_timeout(Duration::from_secs(120))
}

fn retry_config() -> RetryConfig {
    // etl retries whole files with its own backoff; the client's retries
    // only smooth over a single lost request.
    RetryConfig {
        max_retries: 2,
        retry_timeout: Duration::from_secs(20),
        ..Default::default()
    }
}

impl ObjectBackend {
    /// The store for a URL and the key prefix inside it.
    pub fn open(r: &RemoteUrl, shown: &str) -> Result<(ObjectBackend, String)> {
        let url = &r.url;
        let host = url.host_str().unwrap_or("").to_string();
        let raw_path = percent_encoding::percent_decode_str(url.path())
            .decode_utf8_lossy()
            .into_owned();
        let path = raw_path.trim_matches('/').to_string();
        let bad = |what: &str| Error::usage(format!("{shown}: {what}"));
        let mut gcs = None;
        let (store, base): (Arc<dyn ObjectStore>, String) = match r.scheme {
            Scheme::S3 => {
                if host.is_empty() {
                    return Err(bad("no bucket: write s3://BUCKET/KEY"));
                }
                let mut b = object_store::aws::AmazonS3Builder::from_env().with_bucket_name(&host);
                let endpoint = env("AWS_ENDPOINT_URL_S3")
                    .or_else(|| env("AWS_ENDPOINT_URL"))
                    .or_else(|| env("AWS_ENDPOINT"));
                let mut http = env("AWS_ALLOW_HTTP").is_some_and(|v| v == "true" || v == "1");
                if let Some(ep) = &endpoint {
                    b = b.with_endpoint(ep);
                    http |= ep.starts_with("http://");
                }
                if env("AWS_REGION").is_none() && env("AWS_DEFAULT_REGION").is_some() {
                    b = b.with_region(env("AWS_DEFAULT_REGION").unwrap_or_default());
                }
                let s = b
                    .with_client_options(client_options(http))
                    .with_retry(retry_config())
                    .build()
                    .map_err(|e| config_error(e, shown))?;
                (Arc::new(s), format!("s3://{host}"))
            }
            Scheme::Azure => {
                // az://container/path, abfs[s]://container@account.dfs.core.windows.net/path
                let (container, account) = if url.username().is_empty() {
                    (host.clone(), None)
                } else {
                    (
                        url.username().to_string(),
                        host.split('.').next().map(str::to_string),
                    )
                };
                if container.is_empty() {
                    return Err(bad("no container: write az://CONTAINER/PATH"));
                }
                let mut b = object_store::azure::MicrosoftAzureBuilder::from_env()
                    .with_container_name(&container);
                let mut http = false;
                if let Some(conn) = env("AZURE_STORAGE_CONNECTION_STRING") {
                    for part in conn.split(';') {
                        let Some((k, v)) = part.split_once('=') else {
                            continue;
                        };
                        match k.trim() {
                            "AccountName" => b = b.with_account(v),
                            "AccountKey" => b = b.with_access_key(v),
                            "SharedAccessSignature" => {
                                b = b.with_config(
                                    object_store::azure::AzureConfigKey::SasKey,
                                    v.to_string(),
                                )
                            }
                            "BlobEndpoint" => {
                                http |= v.starts_with("http://");
                                b = b.with_endpoint(v.trim_end_matches('/').to_string());
                            }
                            _ => {}
                        }
                    }
                }
                if let Some(a) = account {
                    b = b.with_account(a);
                }
                if let Some(ep) = env("AZURE_STORAGE_ENDPOINT") {
                    http |= ep.starts_with("http://");
                    b = b.with_endpoint(ep);
                }
                let s = b
                    .with_client_options(client_options(http))
                    .with_retry(retry_config())
                    .build()
                    .map_err(|e| config_error(e, shown))?;
                (Arc::new(s), format!("az://{container}"))
            }
            Scheme::Gcs => {
                if host.is_empty() {
                    return Err(bad("no bucket: write gs://BUCKET/PATH"));
                }
                let mut b = object_store::gcp::GoogleCloudStorageBuilder::from_env()
                    .with_bucket_name(&host);
                let mut http = false;
                let mut json_base = "https://storage.googleapis.com".to_string();
                if let Some(emu) = env("STORAGE_EMULATOR_HOST") {
                    let emu = if emu.contains("://") {
                        emu
                    } else {
                        format!("http://{emu}")
                    };
                    http = emu.starts_with("http://");
                    json_base = emu.trim_end_matches('/').to_string();
                    // An emulator takes no credentials: never ask a metadata server.
                    let none = object_store::StaticCredentialProvider::new(
                        object_store::gcp::GcpCredential {
                            bearer: String::new(),
                        },
                    );
                    b = b
                        .with_base_url(emu.trim_end_matches('/'))
                        .with_credentials(Arc::new(none));
                }
                let s = b
                    .with_client_options(client_options(http))
                    .with_retry(retry_config())
                    .build()
                    .map_err(|e| config_error(e, shown))?;
                gcs = Some(super::gcs_upload::new(
                    &json_base,
                    &host,
                    s.credentials().clone(),
                ));
                (Arc::new(s), format!("gs://{host}"))
            }
            _ => unreachable!("not object storage"),
        };
        Ok((
            ObjectBackend {
                store,
                scheme: r.scheme,
                base,
                gcs,
                parts: Arc::new(tokio::sync::Semaphore::new(PARTS_IN_FLIGHT_TOTAL)),
            },
            path,
        ))
    }

    pub fn kind(&self) -> &'static str {
        match self.scheme {
            Scheme::S3 => "s3",
            Scheme::Azure => "azure",
            _ => "gcs",
        }
    }

    pub fn is_s3(&self) -> bool {
        self.scheme == Scheme::S3
    }

    pub fn wants_sha256_metadata(&self) -> bool {
        !self.is_s3()
    }

    pub fn show(&self, path: &str) -> String {
        format!("{}/{path}", self.base)
    }

    fn key(&self, path: &str) -> FailResult<ObjPath> {
        ObjPath::parse(path).map_err(|e| {
            Fail::permanent(Error::usage(format!(
                "{}: not a valid object name ({e})",
                self.show(path)
            )))
        })
    }

    pub async fn check(&self, path: &str) -> FailResult<()> {
        let prefix = path.rsplit_once('/').map(|(p, _)| p).unwrap_or("");
        let prefix = (!prefix.is_empty()).then(|| ObjPath::from(prefix));
        self.store
            .list_with_delimiter(prefix.as_ref())
            .await
            .map(|_| ())
            .map_err(|e| fail(e, &self.base))
    }

    fn digests_of(&self, e_tag: Option<&str>, attrs: Option<&Attributes>) -> Vec<Digest> {
        let mut out = Vec::new();
        if let Some(a) = attrs {
            if let Some(v) = a.get(&Attribute::Metadata(digest::SHA256_KEY.into())) {
                out.push(Digest::Sha256(v.as_ref().to_ascii_lowercase()));
            }
        }
        if self.is_s3() {
            if let Some(e) = e_tag.and_then(digest::s3_etag) {
                out.push(Digest::Etag(e));
            }
        }
        out
    }

    pub async fn stat(&self, path: &str) -> FailResult<Option<Stat>> {
        if path.is_empty() || path.ends_with('/') {
            return Ok(None);
        }
        let key = self.key(path)?;
        let opts = GetOptions {
            head: true,
            ..Default::default()
        };
        match self.store.get_opts(&key, opts).await {
            Ok(r) => Ok(Some(Stat {
                size: r.meta.size,
                digests: self.digests_of(r.meta.e_tag.as_deref(), Some(&r.attributes)),
            })),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(fail(e, &self.show(path))),
        }
    }

    pub async fn has_prefix(&self, path: &str) -> FailResult<bool> {
        let prefix = (!path.is_empty()).then(|| ObjPath::from(path));
        let mut s = self.store.list(prefix.as_ref());
        match s.next().await {
            None => Ok(false),
            Some(Ok(_)) => Ok(true),
            Some(Err(e)) => Err(fail(e, &self.show(path))),
        }
    }

    pub async fn list(&self, path: &str) -> FailResult<Vec<Entry>> {
        let prefix = (!path.is_empty()).then(|| ObjPath::from(path));
        let mut s = self.store.list(prefix.as_ref());
        let mut out = Vec::new();
        while let Some(item) = s.next().await {
            let m = item.map_err(|e| fail(e, &self.show(path)))?;
            out.push(Entry {
                path: m.location.to_string(),
                stat: Stat {
                    size: m.size,
                    digests: self.digests_of(m.e_tag.as_deref(), None),
                },
            });
        }
        Ok(out)
    }

    pub async fn reader(&self, path: &str, size: u64) -> FailResult<Reader> {
        let key = self.key(path)?;
        let shown = self.show(path);
        let part = digest::part_size(size);
        if size > 2 * part {
            // Ranged GETs, PARTS_IN_FLIGHT at a time, in order.
            let store = self.store.clone();
            let permits = self.parts.clone();
            let ranges: Vec<std::ops::Range<u64>> = (0..size.div_ceil(part))
                .map(|i| i * part..((i + 1) * part).min(size))
                .collect();
            let stream = futures::stream::iter(ranges)
                .map(move |r| {
                    let (store, key, permits) = (store.clone(), key.clone(), permits.clone());
                    async move {
                        let _permit = permits.acquire_owned().await;
                        let b = store.get_range(&key, r).await?;
                        // The part's MD5 on another thread, for the ETag check.
                        let b2 = b.clone();
                        let md5 = tokio::task::spawn_blocking(move || digest::md5_of(&b2))
                            .await
                            .map_err(|e| object_store::Error::JoinError { source: e })?;
                        Ok((b, md5))
                    }
                })
                .buffered(PARTS_IN_FLIGHT)
                .boxed();
            return Ok(Reader::Parts(stream, shown));
        }
        let r = self.store.get(&key).await.map_err(|e| fail(e, &shown))?;
        Ok(Reader::Stream(r.into_stream(), shown))
    }

    pub async fn delete(&self, path: &str) -> FailResult<()> {
        let key = self.key(path)?;
        match self.store.delete(&key).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(fail(e, &self.show(path))),
        }
    }

    pub async fn writer(
        self: &Arc<Self>,
        path: &str,
        size: u64,
        sha256: Option<&str>,
    ) -> FailResult<super::Writer> {
        let key = self.key(path)?;
        let mut attributes = Attributes::new();
        if let Some(h) = sha256 {
            attributes.insert(
                Attribute::Metadata(digest::SHA256_KEY.into()),
                AttributeValue::from(h.to_string()),
            );
        }
        Ok(super::Writer::Object(Box::new(ObjectWriter {
            backend: self.clone(),
            key,
            path: path.to_string(),
            part: digest::part_size(size) as usize,
            buf: BytesMut::new(),
            attributes,
            upload: None,
            in_flight: FuturesUnordered::new(),
            part_md5s: Vec::new(),
            size: 0,
            expected: size,
            meta: sha256
                .map(|h| vec![(digest::SHA256_KEY.to_string(), h.to_string())])
                .unwrap_or_default(),
            gcs_session: None,
            tasks: Vec::new(),
        })))
    }
}

type PartFuture =
    std::pin::Pin<Box<dyn std::future::Future<Output = FailResult<(usize, [u8; 16])>> + Send>>;

pub struct ObjectWriter {
    backend: Arc<ObjectBackend>,
    key: ObjPath,
    path: String,
    part: usize,
    buf: BytesMut,
    attributes: Attributes,
    upload: Option<Box<dyn MultipartUpload>>,
    in_flight: FuturesUnordered<PartFuture>,
    part_md5s: Vec<[u8; 16]>,
    size: u64,
    /// The size announced before the upload.
    expected: u64,
    meta: Vec<(String, String)>,
    gcs_session: Option<String>,
    /// The part uploads running, stopped on abort.
    tasks: Vec<tokio::task::AbortHandle>,
}

impl ObjectWriter {
    pub async fn write(&mut self, data: Bytes) -> FailResult<()> {
        self.size += data.len() as u64;
        self.buf.extend_from_slice(&data);
        while self.buf.len() > self.part {
            let chunk = self.buf.split_to(self.part).freeze();
            self.send_part(chunk).await?;
        }
        Ok(())
    }

    async fn send_part(&mut self, chunk: Bytes) -> FailResult<()> {
        let shown = self.backend.show(&self.path);
        if let Some(g) = self.backend.gcs.clone() {
            if self.gcs_session.is_none() {
                let s = g
                    .start(&self.path, self.expected, &self.meta, &shown)
                    .await?;
                self.gcs_session = Some(s);
            }
            let offset = self.part_md5s.len() as u64 * self.part as u64;
            self.part_md5s.push([0; 16]);
            let session = self.gcs_session.clone().unwrap_or_default();
            return g.chunk(&session, offset, chunk, None, &shown).await;
        }
        if self.upload.is_none() {
            let opts = PutMultipartOptions {
                attributes: self.attributes.clone(),
                ..Default::default()
            };
            let up = self
                .backend
                .store
                .put_multipart_opts(&self.key, opts)
                .await
                .map_err(|e| fail(e, &shown))?;
            self.upload = Some(up);
        }
        while self.in_flight.len() >= PARTS_IN_FLIGHT {
            self.collect_one().await?;
        }
        let index = self.part_md5s.len();
        self.part_md5s.push([0; 16]);
        let for_md5 = chunk.clone();
        // Parts run as tasks of their own, so a permit always comes back.
        let permit = self.backend.parts.clone().acquire_owned().await;
        let up = self.upload.as_mut().expect("multipart upload started");
        let put = up.put_part(PutPayload::from(chunk));
        let task = tokio::spawn(async move {
            let _permit = permit;
            let md5 = tokio::task::spawn_blocking(move || digest::md5_of(&for_md5));
            put.await.map_err(|e| fail(e, &shown))?;
            let md5 = md5
                .await
                .map_err(|e| Fail::permanent(Error::io(e.to_string())))?;
            Ok((index, md5))
        });
        self.tasks.push(task.abort_handle());
        self.in_flight.push(Box::pin(async move {
            task.await
                .map_err(|e| Fail::permanent(Error::io(e.to_string())))?
        }));
        Ok(())
    }

    async fn collect_one(&mut self) -> FailResult<()> {
        if let Some(r) = self.in_flight.next().await {
            let (i, md5) = r?;
            self.part_md5s[i] = md5;
        }
        Ok(())
    }

    async fn finish_gcs(&mut self, g: &super::gcs_upload::GcsJson) -> FailResult<()> {
        let shown = self.backend.show(&self.path);
        let last = std::mem::take(&mut self.buf).freeze();
        match self.gcs_session.clone() {
            None => g.put_small(&self.path, last, &self.meta, &shown).await,
            Some(session) => {
                let offset = self.part_md5s.len() as u64 * self.part as u64;
                g.chunk(&session, offset, last, Some(self.size), &shown)
                    .await
            }
        }
    }

    pub async fn finish(mut self, place: &Place) -> FailResult<(Written, Pending)> {
        let shown = self.backend.show(&self.path);
        if let Some(g) = self.backend.gcs.clone() {
            if let Err(e) = self.finish_gcs(&g).await {
                self.abort().await;
                return Err(e);
            }
            let st = self.backend.stat(&self.path).await?.unwrap_or_default();
            return Ok((
                Written {
                    size: st.size,
                    digests: st.digests,
                    expected_etag: None,
                },
                Pending::Visible {
                    place: place.clone(),
                    path: self.path.clone(),
                },
            ));
        }
        let result = if self.upload.is_none() {
            let data = std::mem::take(&mut self.buf).freeze();
            let md5 = digest::md5_of(&data);
            self.part_md5s = vec![md5];
            let opts = PutOptions {
                attributes: self.attributes.clone(),
                ..Default::default()
            };
            self.backend
                .store
                .put_opts(&self.key, PutPayload::from(data), opts)
                .await
                .map_err(|e| fail(e, &shown))
        } else {
            let last = std::mem::take(&mut self.buf).freeze();
            if !last.is_empty() {
                if let Err(e) = self.send_part(last).await {
                    self.abort().await;
                    return Err(e);
                }
            }
            while !self.in_flight.is_empty() {
                if let Err(e) = self.collect_one().await {
                    self.abort().await;
                    return Err(e);
                }
            }
            let up = self.upload.as_mut().expect("multipart upload started");
            match up.complete().await {
                Ok(r) => Ok(r),
                Err(e) => {
                    let f = fail(e, &shown);
                    self.abort().await;
                    return Err(f);
                }
            }
        }?;
        let expected = digest::combine_etag(&self.part_md5s);
        let mut digests = Vec::new();
        let mut size = self.size;
        if self.backend.is_s3() {
            if let Some(e) = result.e_tag.as_deref().and_then(digest::s3_etag) {
                digests.push(Digest::Etag(e));
            }
            if digests.is_empty() {
                // No ETag in the answer: ask for it.
                if let Ok(Some(st)) = self.backend.stat(&self.path).await {
                    size = st.size;
                    digests = st.digests;
                }
            }
        } else if let Ok(Some(st)) = self.backend.stat(&self.path).await {
            size = st.size;
            digests = st.digests;
        }
        Ok((
            Written {
                size,
                digests,
                // The ETag of the bytes sent, to compare with the store's.
                expected_etag: self.backend.is_s3().then_some(expected),
            },
            Pending::Visible {
                place: place.clone(),
                path: self.path.clone(),
            },
        ))
    }

    pub async fn abort(mut self) {
        if let (Some(g), Some(s)) = (self.backend.gcs.clone(), self.gcs_session.take()) {
            g.cancel(&s).await;
        }
        for t in &self.tasks {
            t.abort();
        }
        self.in_flight.clear();
        if let Some(mut up) = self.upload.take() {
            let _ = up.abort().await;
        }
    }
}
