//! Object stores: which store serves a location, built from configuration,
//! and the byte counting every read goes through.
//!
//! [`StoreRegistry`] is DataFusion's `ObjectStoreRegistry` for glaux: it
//! creates the store for `s3://bucket`, `gs://bucket`, `az://container` or
//! `file://` on first use from the `s3.*`, `gcs.*` and `azure.*` settings
//! (falling back to the providers' standard environment variables), and
//! wraps each in a [`CountingStore`] that adds the bytes it serves to a
//! shared counter (the REPL's progress line reads it) and hides files whose
//! names start with `_` or `.` from listings, as Athena ignores them.

use crate::config::Config;
use crate::error::{Error, Result, SqlState};
use async_trait::async_trait;
use bytes::Bytes;
use datafusion::datasource::listing::ListingTableUrl;
use datafusion::execution::object_store::ObjectStoreRegistry;
use futures::stream::BoxStream;
use futures::{StreamExt, TryStreamExt};
use object_store::path::Path;
use object_store::{
    CopyOptions, GetOptions, GetResult, GetResultPayload, ListResult, MultipartUpload, ObjectMeta, ObjectStore,
    PutMultipartOptions, PutOptions, PutPayload, PutResult,
};
use std::collections::HashMap;
use std::ops::Range;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use url::Url;

/// What a [`CountingStore`] charges its reads to: asked before each read
/// request (an error refuses it) and told its size after.
pub trait Tally: Send + Sync + std::fmt::Debug {
    fn check(&self) -> Result<()> {
        Ok(())
    }
    fn charge(&self, n: u64) -> Result<()>;
    /// `n` bytes were written (a query's meter keeps them for the
    /// ledger; writes are never refused or billed).
    fn wrote(&self, _n: u64) {}
}

/// Counts the bytes read through all stores of one engine, or one scan.
#[derive(Debug, Default)]
pub struct ByteCounter(AtomicU64);

impl ByteCounter {
    pub fn add(&self, n: u64) {
        self.0.fetch_add(n, Ordering::Relaxed);
    }
    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

impl Tally for ByteCounter {
    fn charge(&self, n: u64) -> Result<()> {
        self.add(n);
        Ok(())
    }
}

impl Tally for crate::workgroup::Meter {
    fn check(&self) -> Result<()> {
        crate::workgroup::Meter::check(self)
    }
    fn charge(&self, n: u64) -> Result<()> {
        crate::workgroup::Meter::charge(self, n)
    }
    fn wrote(&self, n: u64) {
        crate::workgroup::Meter::wrote(self, n)
    }
}

/// Two tallies charged together (a scan's counter and its query's meter),
/// through one store.
#[derive(Debug)]
pub struct Both(pub Arc<dyn Tally>, pub Arc<dyn Tally>);

impl Tally for Both {
    fn check(&self) -> Result<()> {
        self.0.check()?;
        self.1.check()
    }
    fn charge(&self, n: u64) -> Result<()> {
        let first = self.0.charge(n);
        self.1.charge(n)?;
        first
    }
    fn wrote(&self, n: u64) {
        self.0.wrote(n);
        self.1.wrote(n);
    }
}

/// A glaux error as an object-store error (it is found again by
/// `error::classify_datafusion`).
fn refused(e: Error) -> object_store::Error {
    object_store::Error::Generic { store: "glaux", source: Box::new(e) }
}

/// The most a local file read asks for at once.
const LOCAL_CHUNK: u64 = 256 * 1024;

/// `range` of a local file as a stream of reads of at most
/// [`LOCAL_CHUNK`] bytes, each on a blocking thread.
fn file_chunks(file: std::fs::File, range: Range<u64>) -> BoxStream<'static, object_store::Result<Bytes>> {
    let local = |e: Box<dyn std::error::Error + Send + Sync>| object_store::Error::Generic {
        store: "LocalFileSystem",
        source: e,
    };
    futures::stream::try_unfold((file, range), move |(mut file, range)| async move {
        if range.start >= range.end {
            return Ok(None);
        }
        let len = (range.end - range.start).min(LOCAL_CHUNK);
        let read = tokio::task::spawn_blocking(move || -> std::io::Result<_> {
            use std::io::{Read, Seek, SeekFrom};
            file.seek(SeekFrom::Start(range.start))?;
            let mut chunk = vec![0; len as usize];
            file.read_exact(&mut chunk)?;
            Ok((file, chunk))
        });
        let (file, chunk) = read.await.map_err(|e| local(Box::new(e)))?.map_err(|e| local(Box::new(e)))?;
        Ok(Some((Bytes::from(chunk), (file, range.start + len..range.end))))
    })
    .boxed()
}

/// Creates and caches one store per scheme + bucket.
#[derive(Debug)]
pub struct StoreRegistry {
    config: Config,
    counter: Arc<ByteCounter>,
    stores: RwLock<HashMap<String, Arc<dyn ObjectStore>>>,
}

impl StoreRegistry {
    pub fn new(config: Config, counter: Arc<ByteCounter>) -> Self {
        StoreRegistry { config, counter, stores: RwLock::new(HashMap::new()) }
    }

    /// The store for `url` (created on first use).
    pub fn store_for(&self, url: &Url) -> Result<Arc<dyn ObjectStore>> {
        let key = store_key(url);
        if let Some(store) = self.stores.read().unwrap_or_else(|p| p.into_inner()).get(&key) {
            return Ok(Arc::clone(store));
        }
        let inner = build_store(&self.config, url)?;
        let store: Arc<dyn ObjectStore> =
            Arc::new(CountingStore { inner, counter: Arc::clone(&self.counter) as Arc<dyn Tally> });
        let mut stores = self.stores.write().unwrap_or_else(|p| p.into_inner());
        Ok(Arc::clone(stores.entry(key).or_insert(store)))
    }
}

fn store_key(url: &Url) -> String {
    format!("{}://{}", url.scheme(), url.host_str().unwrap_or(""))
}

fn build_store(config: &Config, url: &Url) -> Result<Arc<dyn ObjectStore>> {
    let bucket = url.host_str().unwrap_or("");
    let bad =
        |e: object_store::Error| Error::new(SqlState::InvalidParameterValue, format!("cannot use location {url}: {e}"));
    Ok(match url.scheme() {
        "file" => Arc::new(object_store::local::LocalFileSystem::new()),
        "s3" | "s3a" => {
            use object_store::aws::AmazonS3Builder;
            let mut b = AmazonS3Builder::from_env().with_bucket_name(bucket);
            let region = config.get_opt("s3.region").map(str::to_string).or_else(|| std::env::var("AWS_REGION").ok());
            b = b.with_region(region.unwrap_or_else(|| "us-east-1".into()));
            if let Some(v) = config.get_opt("s3.endpoint") {
                b = b.with_endpoint(v);
            }
            if let Some(v) = config.get_opt("s3.access_key_id") {
                b = b.with_access_key_id(v);
            }
            if let Some(v) = config.get_opt("s3.secret_access_key") {
                b = b.with_secret_access_key(v);
            }
            if let Some(v) = config.get_opt("s3.session_token") {
                b = b.with_token(v);
            }
            b = b.with_virtual_hosted_style_request(!config.get_bool("s3.path_style")?);
            b = b.with_allow_http(config.get_bool("s3.allow_http")?);
            Arc::new(b.build().map_err(bad)?)
        }
        "gs" => {
            use object_store::gcp::GoogleCloudStorageBuilder;
            let mut b = GoogleCloudStorageBuilder::from_env().with_bucket_name(bucket);
            if let Some(v) = config.get_opt("gcs.service_account_path") {
                b = b.with_service_account_path(v);
            }
            Arc::new(b.build().map_err(bad)?)
        }
        "az" | "abfs" | "abfss" => {
            use object_store::azure::MicrosoftAzureBuilder;
            let mut b = MicrosoftAzureBuilder::from_env().with_url(url.as_str());
            if let Some(v) = config.get_opt("azure.account") {
                b = b.with_account(v);
            }
            if let Some(v) = config.get_opt("azure.access_key") {
                b = b.with_access_key(v);
            }
            Arc::new(b.build().map_err(bad)?)
        }
        other => {
            return Err(Error::new(
                SqlState::FeatureNotSupported,
                format!(
                    "location scheme {other}:// is not supported; use a local path, file://, s3://, gs:// or az://"
                ),
            ))
        }
    })
}

impl ObjectStoreRegistry for StoreRegistry {
    fn register_store(&self, url: &Url, store: Arc<dyn ObjectStore>) -> Option<Arc<dyn ObjectStore>> {
        let store: Arc<dyn ObjectStore> =
            Arc::new(CountingStore { inner: store, counter: Arc::clone(&self.counter) as Arc<dyn Tally> });
        self.stores.write().unwrap_or_else(|p| p.into_inner()).insert(store_key(url), store)
    }

    fn get_store(&self, url: &Url) -> datafusion::error::Result<Arc<dyn ObjectStore>> {
        self.store_for(url).map_err(Error::into_datafusion)
    }
}

/// An object store that counts the bytes it serves.
#[derive(Debug)]
pub struct CountingStore {
    inner: Arc<dyn ObjectStore>,
    counter: Arc<dyn Tally>,
}

impl CountingStore {
    pub fn new(inner: Arc<dyn ObjectStore>, counter: Arc<dyn Tally>) -> Self {
        CountingStore { inner, counter }
    }
}

impl std::fmt::Display for CountingStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Counting({})", self.inner)
    }
}

#[async_trait]
impl ObjectStore for CountingStore {
    async fn put_opts(
        &self,
        location: &Path,
        payload: PutPayload,
        opts: PutOptions,
    ) -> object_store::Result<PutResult> {
        let n = payload.content_length() as u64;
        let put = self.inner.put_opts(location, payload, opts).await?;
        self.counter.wrote(n);
        Ok(put)
    }

    async fn put_multipart_opts(
        &self,
        location: &Path,
        opts: PutMultipartOptions,
    ) -> object_store::Result<Box<dyn MultipartUpload>> {
        let inner = self.inner.put_multipart_opts(location, opts).await?;
        Ok(Box::new(CountingUpload { inner, counter: Arc::clone(&self.counter) }))
    }

    async fn get_opts(&self, location: &Path, options: GetOptions) -> object_store::Result<GetResult> {
        self.counter.check().map_err(refused)?;
        let mut result = self.inner.get_opts(location, options).await?;
        if result.meta.location.as_ref().is_empty() {
            return Ok(result);
        }
        // Bytes are charged as they arrive, so a query stopped by its
        // cutoff overshoots by one chunk, not one file: a remote body's
        // network chunks, or a local file's reads of LOCAL_CHUNK bytes.
        let stream = match result.payload {
            GetResultPayload::Stream(stream) => stream,
            GetResultPayload::File(file, _) if result.range.end - result.range.start > LOCAL_CHUNK => {
                file_chunks(file, result.range.clone())
            }
            // A small local read stays a file for its reader: charged whole.
            payload @ GetResultPayload::File(..) => {
                self.counter.charge(result.range.end - result.range.start).map_err(refused)?;
                result.payload = payload;
                return Ok(result);
            }
        };
        let counter = Arc::clone(&self.counter);
        result.payload = GetResultPayload::Stream(
            stream
                .and_then(move |chunk| {
                    let charged = counter.charge(chunk.len() as u64).map(|()| chunk).map_err(refused);
                    futures::future::ready(charged)
                })
                .boxed(),
        );
        Ok(result)
    }

    async fn get_ranges(&self, location: &Path, ranges: &[Range<u64>]) -> object_store::Result<Vec<Bytes>> {
        self.counter.check().map_err(refused)?;
        let out = self.inner.get_ranges(location, ranges).await?;
        self.counter.charge(out.iter().map(|b| b.len() as u64).sum()).map_err(refused)?;
        Ok(out)
    }

    fn delete_stream(
        &self,
        locations: BoxStream<'static, object_store::Result<Path>>,
    ) -> BoxStream<'static, object_store::Result<Path>> {
        self.inner.delete_stream(locations)
    }

    fn list(&self, prefix: Option<&Path>) -> BoxStream<'static, object_store::Result<ObjectMeta>> {
        let depth = prefix.map(|p| p.parts().count()).unwrap_or(0);
        self.inner
            .list(prefix)
            .try_filter(move |meta| futures::future::ready(!is_hidden(depth, &meta.location)))
            .boxed()
    }

    async fn list_with_delimiter(&self, prefix: Option<&Path>) -> object_store::Result<ListResult> {
        let depth = prefix.map(|p| p.parts().count()).unwrap_or(0);
        let mut result = self.inner.list_with_delimiter(prefix).await?;
        result.objects.retain(|meta| !is_hidden(depth, &meta.location));
        result.common_prefixes.retain(|p| !is_hidden(depth, p));
        Ok(result)
    }

    async fn copy_opts(&self, from: &Path, to: &Path, options: CopyOptions) -> object_store::Result<()> {
        self.inner.copy_opts(from, to, options).await
    }
}

/// A multipart upload that counts the bytes of each part it sends.
#[derive(Debug)]
struct CountingUpload {
    inner: Box<dyn MultipartUpload>,
    counter: Arc<dyn Tally>,
}

#[async_trait]
impl MultipartUpload for CountingUpload {
    fn put_part(&mut self, data: PutPayload) -> object_store::UploadPart {
        let n = data.content_length() as u64;
        let counter = Arc::clone(&self.counter);
        let part = self.inner.put_part(data);
        Box::pin(async move {
            part.await?;
            counter.wrote(n);
            Ok(())
        })
    }

    async fn complete(&mut self) -> object_store::Result<PutResult> {
        self.inner.complete().await
    }

    async fn abort(&mut self) -> object_store::Result<()> {
        self.inner.abort().await
    }
}

/// Whether a listed object is hidden, as Hive and Athena treat it: some
/// path segment below the listed prefix starts with `_` or `.` (`_SUCCESS`,
/// `.part-0.crc`, `_temporary/`).
fn is_hidden(prefix_depth: usize, location: &Path) -> bool {
    location.parts().skip(prefix_depth).any(|part| {
        let s = part.as_ref();
        s.starts_with('_') || s.starts_with('.')
    })
}

/// A LOCATION as DataFusion lists it. A location names its objects
/// verbatim, as Hive, Glue and Athena write it: `s3://b/t/city=a%2Fb/` is
/// the key prefix `t/city=a%2Fb/` (the folder Hive writes for the value
/// `a/b`), never a URL to percent-decode; a local path (plain, relative
/// or `file://`) is the file-system path as written. Each part is
/// percent-encoded into the URL exactly as DataFusion decodes it again,
/// so the listed prefix is the location's own text on every store.
pub fn listing_url(location: &str) -> Result<ListingTableUrl> {
    let location = location.trim();
    let invalid = |why: &str| Error::new(SqlState::InvalidParameterValue, format!("LOCATION {location:?} {why}"));
    if location.is_empty() {
        return Err(Error::new(SqlState::InvalidParameterValue, "LOCATION must not be empty"));
    }
    let (root, key, local) = match location.split_once("://") {
        Some(("file", path)) => {
            ("file:///".to_string(), absolute(path.strip_prefix("localhost").unwrap_or(path))?, true)
        }
        Some((scheme, rest)) => {
            let (authority, key) = rest.split_once('/').unwrap_or((rest, ""));
            (format!("{scheme}://{authority}/"), key.to_string(), false)
        }
        None => ("file:///".to_string(), absolute(location)?, true),
    };
    let mut url = Url::parse(&root).map_err(|e| invalid(&format!("is not a valid URL: {e}")))?;
    let parts: Vec<&str> = key.split('/').filter(|p| !p.is_empty()).collect();
    if parts.iter().any(|p| *p == "." || *p == "..") {
        return Err(invalid("must not contain . or .. path segments"));
    }
    let folder = key.ends_with('/') || (local && std::path::Path::new(&key).is_dir());
    {
        let mut segments = url.path_segments_mut().map_err(|_| invalid("has no path"))?;
        segments.pop_if_empty().extend(&parts);
        if folder && !parts.is_empty() {
            segments.push("");
        }
    }
    ListingTableUrl::try_new(url, None).map_err(|e| invalid(&format!("cannot be used: {e}")))
}

/// A local path made absolute, with `/` separators.
fn absolute(path: &str) -> Result<String> {
    let p = std::path::Path::new(path);
    let full = if p.is_absolute() { p.to_path_buf() } else { std::env::current_dir()?.join(p) };
    let mut text = full.to_string_lossy().into_owned();
    if path.ends_with('/') && !text.ends_with('/') {
        text.push('/');
    }
    Ok(text)
}

/// The local file-system path of a `file://` listing URL.
pub fn local_path(url: &ListingTableUrl) -> Option<std::path::PathBuf> {
    (url.scheme() == "file").then(|| std::path::Path::new("/").join(url.prefix().as_ref()))
}
