//! The target table before a load: its key schema read with DescribeTable,
//! created when missing (from `--primary-key`), or deleted and recreated
//! with the same key schema and billing mode for `full-refresh
//! --force-recreate`.

use std::time::{Duration, Instant};

use polars::prelude::*;
use serde_json::{json, Map, Value};

use super::client::{CallError, Client};
use super::item::key_type;
use crate::db::load::{LoadMode, LoadSpec};
use crate::error::{Error, Result};

/// The key attributes (partition key first) and their types (S, N, B).
#[derive(Debug, Clone)]
pub struct KeySchema {
    pub names: Vec<String>,
}

impl KeySchema {
    /// The item's key as text (to group rows by key), or why the row
    /// cannot be put.
    pub fn key_of(&self, item: &Map<String, Value>) -> std::result::Result<String, String> {
        let mut parts = Vec::with_capacity(self.names.len());
        for k in &self.names {
            match item.get(k) {
                None => return Err(format!("the key attribute '{k}' is missing")),
                Some(v) if v.get("NULL").is_some() => {
                    return Err(format!("the key attribute '{k}' is null"))
                }
                Some(v) if v.get("S").and_then(Value::as_str) == Some("") => {
                    return Err(format!("the key attribute '{k}' is empty text"))
                }
                Some(v) => parts.push(v.to_string()),
            }
        }
        Ok(parts.join("\u{1}"))
    }
}

/// What DescribeTable says, as far as a load needs it.
struct Described {
    keys: Vec<(String, String)>,
    attribute_types: Vec<(String, String)>,
    billing: Value,
    status: String,
    has_indexes: bool,
}

const WAIT: Duration = Duration::from_secs(300);

fn call_failed(table: &str, client: &Client, e: CallError) -> Error {
    let shown = format!("dynamodb://{table}");
    match e {
        CallError::Unreachable(why) => Error::io(format!(
            "{shown}: DynamoDB does not answer at {} ({why}); nothing was written",
            client.endpoint()
        )),
        CallError::Api(e) => Error::io(format!(
            "{shown}: DynamoDB refused the request ({}: {})",
            e.kind, e.message
        )),
    }
}

async fn describe(client: &Client, table: &str) -> Result<Option<Described>> {
    let answer = match client
        .call("DescribeTable", &json!({ "TableName": table }), 3)
        .await
    {
        Ok(v) => v,
        Err(CallError::Api(e)) if e.kind == "ResourceNotFoundException" => return Ok(None),
        Err(e) => return Err(call_failed(table, client, e)),
    };
    let t = &answer["Table"];
    let pairs = |list: &Value, a: &str, b: &str| -> Vec<(String, String)> {
        list.as_array()
            .map(|l| {
                l.iter()
                    .map(|x| {
                        (
                            x[a].as_str().unwrap_or_default().to_string(),
                            x[b].as_str().unwrap_or_default().to_string(),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default()
    };
    let mut keys = pairs(&t["KeySchema"], "AttributeName", "KeyType");
    keys.sort_by_key(|(_, kind)| kind != "HASH");
    let on_demand = t["BillingModeSummary"]["BillingMode"].as_str() == Some("PAY_PER_REQUEST");
    let billing = if on_demand {
        json!({ "BillingMode": "PAY_PER_REQUEST" })
    } else {
        let p = &t["ProvisionedThroughput"];
        json!({ "ProvisionedThroughput": {
            "ReadCapacityUnits": p["ReadCapacityUnits"].as_u64().unwrap_or(5).max(1),
            "WriteCapacityUnits": p["WriteCapacityUnits"].as_u64().unwrap_or(5).max(1),
        }})
    };
    Ok(Some(Described {
        keys,
        attribute_types: pairs(&t["AttributeDefinitions"], "AttributeName", "AttributeType"),
        billing,
        status: t["TableStatus"].as_str().unwrap_or_default().to_string(),
        has_indexes: t.get("GlobalSecondaryIndexes").is_some()
            || t.get("LocalSecondaryIndexes").is_some(),
    }))
}

/// Polls until the table is ACTIVE (`gone` false) or deleted (`gone` true).
async fn wait_for(client: &Client, table: &str, gone: bool) -> Result<()> {
    let started = Instant::now();
    loop {
        match describe(client, table).await? {
            None if gone => return Ok(()),
            Some(d) if !gone && d.status == "ACTIVE" => return Ok(()),
            _ => {}
        }
        if started.elapsed() > WAIT {
            return Err(Error::io(format!(
                "dynamodb://{table}: the table did not become {} within {} s",
                if gone { "deleted" } else { "ACTIVE" },
                WAIT.as_secs()
            )));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn create(
    client: &Client,
    table: &str,
    keys: &[(String, String)],
    types: &[(String, String)],
    billing: &Value,
) -> Result<()> {
    let mut body = json!({
        "TableName": table,
        "KeySchema": keys.iter().map(|(n, k)| json!({ "AttributeName": n, "KeyType": k })).collect::<Vec<_>>(),
        "AttributeDefinitions": types.iter().map(|(n, t)| json!({ "AttributeName": n, "AttributeType": t })).collect::<Vec<_>>(),
    });
    if let (Some(b), Some(extra)) = (body.as_object_mut(), billing.as_object()) {
        b.extend(extra.clone());
    }
    client
        .call("CreateTable", &body, 3)
        .await
        .map_err(|e| call_failed(table, client, e))?;
    wait_for(client, table, false).await
}

/// Makes the table ready for the load and returns its key.
pub async fn prepare(
    client: &Client,
    table: &str,
    req: &LoadSpec,
    schema: &Schema,
) -> Result<KeySchema> {
    let shown = format!("dynamodb://{table}");
    let found = describe(client, table).await?;
    let keys: Vec<(String, String)> = match found {
        None => {
            if req.primary_key.is_empty() {
                return Err(Error::usage(format!(
                    "{shown}: no such table at {}: create it, or give --primary-key HASH[,RANGE] to have etl create it (on-demand billing)",
                    client.endpoint()
                )));
            }
            let keys = with_kinds(&req.primary_key);
            let types = key_types(&shown, &keys, schema)?;
            create(
                client,
                table,
                &keys,
                &types,
                &json!({ "BillingMode": "PAY_PER_REQUEST" }),
            )
            .await?;
            keys
        }
        Some(d) => {
            let names: Vec<String> = d.keys.iter().map(|(n, _)| n.clone()).collect();
            if !req.primary_key.is_empty() && req.primary_key != names {
                return Err(Error::usage(format!(
                    "{shown}: --primary-key {} differs from the table's key ({})",
                    req.primary_key.join(","),
                    names.join(",")
                )));
            }
            let types: Vec<(String, String)> = d
                .attribute_types
                .iter()
                .filter(|(n, _)| names.contains(n))
                .cloned()
                .collect();
            check_key_columns(&shown, &types, schema)?;
            if req.mode == LoadMode::FullRefresh {
                if d.has_indexes {
                    return Err(Error::unsupported(format!(
                        "{shown}: recreating a table with secondary indexes (delete and create it yourself, then load with --mode append)"
                    )));
                }
                client
                    .call("DeleteTable", &json!({ "TableName": table }), 3)
                    .await
                    .map_err(|e| call_failed(table, client, e))?;
                wait_for(client, table, true).await?;
                create(client, table, &d.keys, &types, &d.billing).await?;
            } else if d.status != "ACTIVE" {
                wait_for(client, table, false).await?;
            }
            d.keys
        }
    };
    Ok(KeySchema {
        names: keys.into_iter().map(|(n, _)| n).collect(),
    })
}

fn with_kinds(names: &[String]) -> Vec<(String, String)> {
    names
        .iter()
        .zip(["HASH", "RANGE"])
        .map(|(n, k)| (n.clone(), k.to_string()))
        .collect()
}

/// The attribute types of new key columns, from the columns' types.
fn key_types(
    shown: &str,
    keys: &[(String, String)],
    schema: &Schema,
) -> Result<Vec<(String, String)>> {
    let names: Vec<String> = keys.iter().map(|(n, _)| n.clone()).collect();
    crate::names::require_columns(schema, &names, "--primary-key")?;
    names
        .into_iter()
        .map(|n| {
            let dtype = schema.get(&n).expect("checked above");
            let t = key_type(dtype).ok_or_else(|| {
                Error::usage(format!(
                    "{shown}: column '{n}' ({}) cannot be a key: DynamoDB keys are text, numbers or binary",
                    crate::dtype::display_dtype(dtype)
                ))
            })?;
            Ok((n, t.to_string()))
        })
        .collect()
}

/// Every key attribute is a column of a type that writes as the key's type.
fn check_key_columns(shown: &str, types: &[(String, String)], schema: &Schema) -> Result<()> {
    for (name, want) in types {
        let Some(dtype) = schema.get(name) else {
            return Err(Error::data(format!(
                "{shown}: the table's key attribute '{name}' is not a column of the input"
            )));
        };
        let have = key_type(dtype);
        if have != Some(want.as_str()) {
            return Err(Error::data(format!(
                "{shown}: column '{name}' ({}) does not write as the table's key type {want}",
                crate::dtype::display_dtype(dtype)
            )));
        }
    }
    Ok(())
}
