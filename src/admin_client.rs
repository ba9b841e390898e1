//! A small JSON client for the programs' admin APIs (plain HTTP on loopback).

use std::time::Duration;

use anyhow::Context;
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::{Method, Request};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use serde_json::Value;

/// Talks JSON to admin APIs.
#[derive(Clone, Debug)]
pub struct AdminClient {
    client: Client<HttpConnector, Full<Bytes>>,
    timeout: Duration,
    /// Sent as `Authorization: Bearer` when the programs were started with `--admin-token`.
    token: Option<String>,
}

impl Default for AdminClient {
    fn default() -> Self {
        AdminClient::new(Duration::from_secs(120))
    }
}

impl AdminClient {
    /// A client whose calls give up after `timeout` (long enough for long-poll endpoints).
    pub fn new(timeout: Duration) -> AdminClient {
        AdminClient {
            client: Client::builder(TokioExecutor::new()).build_http(),
            timeout,
            token: None,
        }
    }

    /// The same client, presenting `token` (the admin APIs' `--admin-token`) on every call.
    pub fn with_token(mut self, token: Option<String>) -> AdminClient {
        self.token = token;
        self
    }

    /// GET → (status, JSON body).
    pub async fn get(&self, url: &str) -> anyhow::Result<(u16, Value)> {
        self.send(Method::GET, url, None).await
    }

    /// POST a JSON body → (status, JSON body).
    pub async fn post(&self, url: &str, body: &Value) -> anyhow::Result<(u16, Value)> {
        self.send(Method::POST, url, Some(body)).await
    }

    /// DELETE → (status, JSON body).
    pub async fn delete(&self, url: &str) -> anyhow::Result<(u16, Value)> {
        self.send(Method::DELETE, url, None).await
    }

    /// PUT a JSON body → (status, JSON body).
    pub async fn put(&self, url: &str, body: &Value) -> anyhow::Result<(u16, Value)> {
        self.send(Method::PUT, url, Some(body)).await
    }

    async fn send(
        &self,
        method: Method,
        url: &str,
        body: Option<&Value>,
    ) -> anyhow::Result<(u16, Value)> {
        let bytes = body.map(|b| Bytes::from(b.to_string())).unwrap_or_default();
        let mut req = Request::builder()
            .method(method.clone())
            .uri(url)
            .header("content-type", "application/json");
        if let Some(t) = &self.token {
            req = req.header("authorization", format!("Bearer {t}"));
        }
        let req = req
            .body(Full::new(bytes))
            .with_context(|| format!("bad URL {url}"))?;
        let call = async {
            let resp = self
                .client
                .request(req)
                .await
                .with_context(|| format!("{method} {url}"))?;
            let status = resp.status().as_u16();
            let body = resp
                .into_body()
                .collect()
                .await
                .with_context(|| format!("reading {url}"))?
                .to_bytes();
            let value = if body.is_empty() {
                Value::Null
            } else {
                serde_json::from_slice(&body)
                    .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&body).into_owned()))
            };
            Ok::<_, anyhow::Error>((status, value))
        };
        tokio::time::timeout(self.timeout, call)
            .await
            .with_context(|| format!("{method} {url} timed out"))?
    }
}
