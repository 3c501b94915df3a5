//! One Spark Connect session over gRPC: run SQL as views, read and write
//! datasets on the server, fetch schemas and Arrow results. Every call
//! blocks on the process's runtime; every operation id is kept for the
//! manifest.

use std::collections::HashMap;
use std::sync::Mutex;
use std::thread::ThreadId;
use std::time::Duration;

use polars::prelude::DataFrame;
use tonic::transport::{Channel, ClientTlsConfig, Endpoint};

use super::proto::{self, spark_connect_service_client::SparkConnectServiceClient as Grpc};
use super::remote::Remote;
use crate::error::{Error, ErrorKind, Result};

const CLIENT_TYPE: &str = concat!("etl/", env!("CARGO_PKG_VERSION"));

pub struct Session {
    grpc: Grpc<Channel>,
    remote: Remote,
    session_id: String,
    /// Ids of the operations run, in order, with the thread that ran each:
    /// stages run concurrently on their own threads (`--jobs`).
    operations: Mutex<Vec<(ThreadId, String)>>,
}

/// A point in a session's operations (see [`Session::operations_since`]).
#[derive(Debug, Clone, Copy)]
pub struct Mark(usize);

/// A relation that is plain SQL text.
pub fn sql(query: &str) -> proto::Relation {
    proto::Relation {
        common: None,
        rel_type: Some(proto::relation::RelType::Sql(proto::Sql {
            query: query.to_string(),
            ..Default::default()
        })),
    }
}

/// A relation reading files on the server.
pub fn read(
    format: &str,
    paths: Vec<String>,
    options: HashMap<String, String>,
    schema: Option<String>,
) -> proto::Relation {
    proto::Relation {
        common: None,
        rel_type: Some(proto::relation::RelType::Read(proto::Read {
            is_streaming: false,
            read_type: Some(proto::read::ReadType::DataSource(proto::read::DataSource {
                format: Some(format.to_string()),
                schema,
                options,
                paths,
                predicates: Vec::new(),
                source_name: None,
            })),
        })),
    }
}

/// A relation of rows sent in the plan: an Arrow IPC stream.
pub fn local(arrow_ipc_stream: Vec<u8>) -> proto::Relation {
    proto::Relation {
        common: None,
        rel_type: Some(proto::relation::RelType::LocalRelation(
            proto::LocalRelation {
                data: Some(arrow_ipc_stream),
                schema: None,
            },
        )),
    }
}

fn uuid4() -> String {
    let mut b = [0u8; 16];
    for x in b.iter_mut() {
        *x = fastrand::u8(..);
    }
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h = hex::encode(b);
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..]
    )
}

impl Session {
    /// Connects (and fails fast, exit 3, when the server cannot be reached).
    pub fn connect(remote: &Remote) -> Result<Session> {
        let shown = remote.shown();
        let scheme = if remote.use_ssl { "https" } else { "http" };
        let host = if remote.host.contains(':') {
            format!("[{}]", remote.host)
        } else {
            remote.host.clone()
        };
        let mut endpoint = Endpoint::from_shared(format!("{scheme}://{host}:{}", remote.port))
            .map_err(|e| Error::usage(format!("Spark remote {shown}: {e}")))?
            .connect_timeout(Duration::from_secs(10))
            .tcp_keepalive(Some(Duration::from_secs(30)))
            .http2_keep_alive_interval(Duration::from_secs(30));
        if let Some(agent) = &remote.user_agent {
            endpoint = endpoint
                .user_agent(agent.as_str())
                .map_err(|e| Error::usage(format!("Spark remote {shown}: user_agent: {e}")))?;
        }
        if remote.use_ssl {
            endpoint = endpoint
                .tls_config(
                    ClientTlsConfig::new()
                        .with_native_roots()
                        .domain_name(remote.host.clone()),
                )
                .map_err(|e| Error::io(format!("Spark remote {shown}: TLS: {e}")))?;
        }
        let channel = crate::runtime::block_on(endpoint.connect()).map_err(|e| {
            Error::io(format!(
                "cannot reach the Spark Connect server at {shown}: {}",
                crate::location::redact(&source_chain(&e))
            ))
        })?;
        let session = Session {
            grpc: Grpc::new(channel).max_decoding_message_size(256 << 20),
            remote: remote.clone(),
            session_id: remote.session_id.clone().unwrap_or_else(uuid4),
            operations: Mutex::new(Vec::new()),
        };
        // Results as etl's local engine gives them: UTC, timestamps without
        // a zone unless asked, microsecond Parquet timestamps.
        session.set_config(&[
            ("spark.sql.session.timeZone", "UTC"),
            ("spark.sql.timestampType", "TIMESTAMP_NTZ"),
            ("spark.sql.parquet.outputTimestampType", "TIMESTAMP_MICROS"),
        ])?;
        Ok(session)
    }

    pub fn shown(&self) -> String {
        self.remote.shown()
    }

    /// Now, for [`Session::operations_since`].
    pub fn mark(&self) -> Mark {
        Mark(self.operations.lock().expect("not poisoned").len())
    }

    /// The ids of the operations this thread ran since `mark`, in order.
    pub fn operations_since(&self, mark: Mark) -> Vec<String> {
        let me = std::thread::current().id();
        self.operations.lock().expect("not poisoned")[mark.0..]
            .iter()
            .filter(|(thread, _)| *thread == me)
            .map(|(_, id)| id.clone())
            .collect()
    }

    fn user(&self) -> Option<proto::UserContext> {
        Some(proto::UserContext {
            user_id: self.remote.user_id.clone(),
            user_name: self.remote.user_id.clone(),
            extensions: Vec::new(),
        })
    }

    fn request<T>(&self, message: T) -> Result<tonic::Request<T>> {
        let mut request = tonic::Request::new(message);
        let meta = request.metadata_mut();
        if let Some(token) = &self.remote.token {
            let value = format!("Bearer {token}")
                .parse()
                .map_err(|_| Error::usage("Spark remote: the token is not valid header text"))?;
            meta.insert("authorization", value);
        }
        for (k, v) in &self.remote.headers {
            let key = tonic::metadata::MetadataKey::from_bytes(k.as_bytes())
                .map_err(|_| Error::usage(format!("Spark remote: '{k}' is not a header name")))?;
            let value = v
                .parse()
                .map_err(|_| Error::usage(format!("Spark remote: header '{k}': bad value")))?;
            meta.insert(key, value);
        }
        Ok(request)
    }

    fn set_config(&self, pairs: &[(&str, &str)]) -> Result<()> {
        let message = proto::ConfigRequest {
            session_id: self.session_id.clone(),
            user_context: self.user(),
            client_type: Some(CLIENT_TYPE.into()),
            operation: Some(proto::config_request::Operation {
                op_type: Some(proto::config_request::operation::OpType::Set(
                    proto::config_request::Set {
                        pairs: pairs
                            .iter()
                            .map(|(k, v)| proto::KeyValue {
                                key: k.to_string(),
                                value: Some(v.to_string()),
                            })
                            .collect(),
                        silent: None,
                    },
                )),
            }),
            ..Default::default()
        };
        let request = self.request(message)?;
        let mut grpc = self.grpc.clone();
        crate::runtime::block_on(async move { grpc.config(request).await })
            .map_err(|s| self.status_error(s, "setting the session's options"))?;
        Ok(())
    }

    /// Runs a plan; gives its Arrow batches (each an IPC stream).
    fn execute(&self, plan: proto::plan::OpType, what: &str) -> Result<Vec<Vec<u8>>> {
        let operation_id = uuid4();
        self.operations
            .lock()
            .expect("not poisoned")
            .push((std::thread::current().id(), operation_id.clone()));
        let message = proto::ExecutePlanRequest {
            session_id: self.session_id.clone(),
            user_context: self.user(),
            operation_id: Some(operation_id),
            plan: Some(proto::Plan {
                op_type: Some(plan),
            }),
            client_type: Some(CLIENT_TYPE.into()),
            ..Default::default()
        };
        let request = self.request(message)?;
        let mut grpc = self.grpc.clone();
        let result = crate::runtime::block_on(async move {
            let mut stream = grpc.execute_plan(request).await?.into_inner();
            let mut batches = Vec::new();
            let mut chunk: Vec<u8> = Vec::new();
            while let Some(response) = stream.message().await? {
                use proto::execute_plan_response::ResponseType;
                if let Some(ResponseType::ArrowBatch(b)) = response.response_type {
                    let last = match (b.chunk_index, b.num_chunks_in_batch) {
                        (Some(i), Some(n)) => i + 1 >= n,
                        _ => true,
                    };
                    chunk.extend_from_slice(&b.data);
                    if last {
                        batches.push(std::mem::take(&mut chunk));
                    }
                }
            }
            Ok::<_, tonic::Status>(batches)
        });
        result.map_err(|s| self.status_error(s, what))
    }

    fn command(&self, command: proto::command::CommandType, what: &str) -> Result<()> {
        self.execute(
            proto::plan::OpType::Command(proto::Command {
                command_type: Some(command),
            }),
            what,
        )
        .map(|_| ())
    }

    /// Makes `relation` the temporary view `name` (analysed now: a bad
    /// column or function fails here).
    pub fn create_view(&self, name: &str, relation: proto::Relation, what: &str) -> Result<()> {
        self.command(
            proto::command::CommandType::CreateDataframeView(proto::CreateDataFrameViewCommand {
                input: Some(relation),
                name: name.to_string(),
                is_global: false,
                replace: true,
            }),
            what,
        )
    }

    /// The columns of a relation, with Spark's type of each.
    pub fn schema(
        &self,
        relation: proto::Relation,
        what: &str,
    ) -> Result<Vec<(String, proto::DataType)>> {
        use proto::analyze_plan_request::{Analyze, Schema};
        let message = proto::AnalyzePlanRequest {
            session_id: self.session_id.clone(),
            user_context: self.user(),
            client_type: Some(CLIENT_TYPE.into()),
            analyze: Some(Analyze::Schema(Schema {
                plan: Some(proto::Plan {
                    op_type: Some(proto::plan::OpType::Root(relation)),
                }),
            })),
            ..Default::default()
        };
        let request = self.request(message)?;
        let mut grpc = self.grpc.clone();
        let response = crate::runtime::block_on(async move { grpc.analyze_plan(request).await })
            .map_err(|s| self.status_error(s, what))?
            .into_inner();
        let Some(proto::analyze_plan_response::Result::Schema(s)) = response.result else {
            return Err(Error::io(format!("{what}: Spark sent no schema")));
        };
        match s.schema.and_then(|d| d.kind) {
            Some(proto::data_type::Kind::Struct(st)) => Ok(st
                .fields
                .into_iter()
                .map(|f| (f.name, f.data_type.unwrap_or_default()))
                .collect()),
            _ => Err(Error::io(format!(
                "{what}: Spark sent a schema that is not a table"
            ))),
        }
    }

    /// Runs a query and brings its rows back as one frame.
    pub fn collect(&self, query: &str, what: &str) -> Result<DataFrame> {
        let batches = self.execute(proto::plan::OpType::Root(sql(query)), what)?;
        super::arrow::to_frame(&batches).map_err(|e| e.context(what))
    }

    /// Writes a relation as Parquet at `path` on the server, replacing it.
    pub fn write_parquet(&self, relation: proto::Relation, path: &str, what: &str) -> Result<()> {
        self.command(
            proto::command::CommandType::WriteOperation(proto::WriteOperation {
                input: Some(relation),
                source: Some("parquet".into()),
                mode: proto::write_operation::SaveMode::Overwrite as i32,
                save_type: Some(proto::write_operation::SaveType::Path(path.to_string())),
                ..Default::default()
            }),
            what,
        )
    }

    /// A Spark failure as an etl error naming what was being done. The kind
    /// comes from the gRPC code and Spark's SQLSTATE class: unreachable or
    /// denied is I/O (3), a bad query (42xxx) usage (2), bad data (22xxx) data (1).
    fn status_error(&self, status: tonic::Status, what: &str) -> Error {
        use tonic::Code;
        let first_line = status
            .message()
            .lines()
            .next()
            .unwrap_or_default()
            .to_string();
        let text = crate::location::redact(&first_line);
        let kind = match status.code() {
            Code::Unavailable
            | Code::DeadlineExceeded
            | Code::Unauthenticated
            | Code::PermissionDenied
            | Code::Cancelled
            | Code::ResourceExhausted => ErrorKind::Io,
            _ => match super::errors::sql_state(&status)
                .as_deref()
                .map(|s| &s[..2.min(s.len())])
            {
                Some("42") | Some("0A") => ErrorKind::Usage,
                Some("22") | Some("23") => ErrorKind::Data,
                _ => ErrorKind::Io,
            },
        };
        let text = if text.is_empty() {
            format!("{:?}", status.code())
        } else {
            text
        };
        let message = if kind == ErrorKind::Io && matches!(status.code(), Code::Unavailable) {
            format!(
                "{what}: the Spark Connect server at {} is unavailable: {text}",
                self.shown()
            )
        } else {
            format!("{what}: Spark: {text}")
        };
        Error::new(kind, message).with_source(status)
    }
}

/// An error and its causes on one line (tonic's transport error says
/// little on its own).
fn source_chain(e: &dyn std::error::Error) -> String {
    let mut parts = vec![e.to_string()];
    let mut cur = e.source();
    while let Some(s) = cur {
        let t = s.to_string();
        if !parts.iter().any(|p| p.contains(&t)) {
            parts.push(t);
        }
        cur = s.source();
    }
    parts.join(": ")
}
