//! Iceberg's file IO over glaux's object stores.
//!
//! iceberg-rust reads and writes every file (metadata JSON, manifest
//! lists, manifests, data and delete files) through a `FileIO`, whose
//! storage is pluggable. [`StoreIo`] is that storage over a DataFusion
//! object-store registry: the engine's (for DDL), or the one of the scan
//! being planned or run, whose stores charge the query's meter and the
//! scan's counter (`table::metered`). So Iceberg tables use the same
//! stores, settings and credentials as every other table, with no second
//! storage stack, and every byte they read is metered.
//!
//! A location is a URL (`s3://bucket/key`, `file:///path`) or an
//! absolute local path, as Iceberg metadata records them.

use bytes::Bytes;
use datafusion::execution::object_store::ObjectStoreRegistry;
use futures::stream::BoxStream;
use futures::{StreamExt, TryStreamExt};
use iceberg::io::{
    FileIO, FileIOBuilder, FileMetadata, FileRead, FileWrite, InputFile, OutputFile, Storage, StorageConfig,
    StorageFactory,
};
use iceberg::{Error, ErrorKind, Result};
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::ops::Range;
use std::sync::{Arc, Mutex};
use tokio::io::AsyncWriteExt;
use url::Url;

/// A `FileIO` whose files come from `stores`.
pub fn file_io(stores: Arc<dyn ObjectStoreRegistry>) -> FileIO {
    FileIOBuilder::new(Arc::new(StoreIoFactory { stores: Some(stores), kept: None })).build()
}

/// A `FileIO` over `stores` that also keeps every file it reads whole
/// (Iceberg reads its manifest lists and manifests so), for a scan's
/// planning to look into afterwards without reading them twice.
pub fn keeping_file_io(stores: Arc<dyn ObjectStoreRegistry>) -> (FileIO, Kept) {
    let kept = Kept::default();
    let factory = StoreIoFactory { stores: Some(stores), kept: Some(kept.clone()) };
    (FileIOBuilder::new(Arc::new(factory)).build(), kept)
}

/// The files a [`keeping_file_io`] read whole, by location.
#[derive(Debug, Clone, Default)]
pub struct Kept(Arc<Mutex<HashMap<String, Bytes>>>);

impl Kept {
    /// The bytes of `location`, if it was read whole.
    pub fn get(&self, location: &str) -> Option<Bytes> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).get(location).cloned()
    }

    fn keep(&self, location: &str, bytes: &Bytes) {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).insert(location.to_string(), bytes.clone());
    }
}

/// Builds [`StoreIo`]s (iceberg-rust asks a factory for its storage).
#[derive(Debug, Clone, Serialize, Deserialize)]
struct StoreIoFactory {
    /// Never serialized: a `FileIO` does not leave the process.
    #[serde(skip)]
    stores: Option<Arc<dyn ObjectStoreRegistry>>,
    #[serde(skip)]
    kept: Option<Kept>,
}

#[typetag::serde]
impl StorageFactory for StoreIoFactory {
    fn build(&self, _: &StorageConfig) -> Result<Arc<dyn Storage>> {
        Ok(Arc::new(StoreIo { stores: self.stores.clone(), kept: self.kept.clone() }))
    }
}

/// Iceberg's storage over an object-store registry.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StoreIo {
    #[serde(skip)]
    stores: Option<Arc<dyn ObjectStoreRegistry>>,
    /// Where whole-file reads are kept, when the caller asked.
    #[serde(skip)]
    kept: Option<Kept>,
}

/// An iceberg-rust error about the file at `path`, with its cause.
fn failed(what: &str, path: &str, e: object_store::Error) -> Error {
    let kind = match e {
        object_store::Error::NotFound { .. } => ErrorKind::DataInvalid,
        _ => ErrorKind::Unexpected,
    };
    Error::new(kind, format!("cannot {what} {path}")).with_source(e)
}

impl StoreIo {
    /// The store holding `location`, and the file's path in it.
    fn locate(&self, location: &str) -> Result<(Arc<dyn ObjectStore>, Path)> {
        let stores = self.stores.as_ref().ok_or_else(|| {
            Error::new(ErrorKind::Unexpected, "an Iceberg file IO was used outside the engine that made it")
        })?;
        locate(stores, location)
    }
}

/// The store of `stores` holding `location`, and the file's path in it.
pub fn locate(stores: &Arc<dyn ObjectStoreRegistry>, location: &str) -> Result<(Arc<dyn ObjectStore>, Path)> {
    let invalid = |why: String| Error::new(ErrorKind::DataInvalid, format!("file location {location:?} {why}"));
    let (root, path) = match location.split_once("://") {
        Some(("file", rest)) => ("file:///".to_string(), local(rest.strip_prefix("localhost").unwrap_or(rest))?),
        Some((scheme, rest)) => {
            let (authority, key) = rest.split_once('/').unwrap_or((rest, ""));
            let path = Path::parse(key).unwrap_or_else(|_| Path::from(key));
            (format!("{scheme}://{authority}/"), path)
        }
        None if location.starts_with('/') => ("file:///".to_string(), local(location)?),
        None => return Err(invalid("is neither a URL nor an absolute path".into())),
    };
    let url = Url::parse(&root).map_err(|e| invalid(format!("is not a valid URL: {e}")))?;
    let store = stores.get_store(&url).map_err(|e| invalid(format!("has no usable store: {e}")))?;
    Ok((store, path))
}

/// The object-store path of a local file.
fn local(path: &str) -> Result<Path> {
    Path::from_absolute_path(path).map_err(|e| {
        Error::new(ErrorKind::DataInvalid, format!("file location {path:?} is not a usable local path")).with_source(e)
    })
}

#[async_trait::async_trait]
#[typetag::serde]
impl Storage for StoreIo {
    async fn exists(&self, location: &str) -> Result<bool> {
        let (store, path) = self.locate(location)?;
        match store.head(&path).await {
            Ok(_) => Ok(true),
            Err(object_store::Error::NotFound { .. }) => Ok(false),
            Err(e) => Err(failed("look for", location, e)),
        }
    }

    async fn metadata(&self, location: &str) -> Result<FileMetadata> {
        let (store, path) = self.locate(location)?;
        let meta = store.head(&path).await.map_err(|e| failed("read", location, e))?;
        Ok(FileMetadata { size: meta.size })
    }

    async fn read(&self, location: &str) -> Result<Bytes> {
        let (store, path) = self.locate(location)?;
        let got = store.get(&path).await.map_err(|e| failed("read", location, e))?;
        let bytes = got.bytes().await.map_err(|e| failed("read", location, e))?;
        if let Some(kept) = &self.kept {
            kept.keep(location, &bytes);
        }
        Ok(bytes)
    }

    async fn reader(&self, location: &str) -> Result<Box<dyn FileRead>> {
        let (store, path) = self.locate(location)?;
        Ok(Box::new(ObjectRead { store, path, location: location.to_string() }))
    }

    async fn write(&self, location: &str, bs: Bytes) -> Result<()> {
        let (store, path) = self.locate(location)?;
        store.put(&path, bs.into()).await.map_err(|e| failed("write", location, e))?;
        Ok(())
    }

    async fn writer(&self, location: &str) -> Result<Box<dyn FileWrite>> {
        let (store, path) = self.locate(location)?;
        let writer = object_store::buffered::BufWriter::new(store, path);
        Ok(Box::new(ObjectWrite { writer, location: location.to_string() }))
    }

    async fn delete(&self, location: &str) -> Result<()> {
        let (store, path) = self.locate(location)?;
        match store.delete(&path).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(failed("delete", location, e)),
        }
    }

    async fn delete_prefix(&self, location: &str) -> Result<()> {
        let (store, prefix) = self.locate(location)?;
        let files: Vec<Path> = store
            .list(Some(&prefix))
            .map_ok(|meta| meta.location)
            .try_collect()
            .await
            .map_err(|e| failed("list", location, e))?;
        for path in files {
            store.delete(&path).await.map_err(|e| failed("delete", location, e))?;
        }
        Ok(())
    }

    async fn delete_stream(&self, mut locations: BoxStream<'static, String>) -> Result<()> {
        while let Some(location) = locations.next().await {
            self.delete(&location).await?;
        }
        Ok(())
    }

    fn new_input(&self, location: &str) -> Result<InputFile> {
        Ok(InputFile::new(Arc::new(self.clone()), location.to_string()))
    }

    fn new_output(&self, location: &str) -> Result<OutputFile> {
        Ok(OutputFile::new(Arc::new(self.clone()), location.to_string()))
    }
}

/// Ranged reads of one object.
struct ObjectRead {
    store: Arc<dyn ObjectStore>,
    path: Path,
    location: String,
}

#[async_trait::async_trait]
impl FileRead for ObjectRead {
    async fn read(&self, range: Range<u64>) -> Result<Bytes> {
        self.store.get_range(&self.path, range).await.map_err(|e| failed("read", &self.location, e))
    }
}

/// A streamed upload of one object (multipart where the store has it).
struct ObjectWrite {
    writer: object_store::buffered::BufWriter,
    location: String,
}

#[async_trait::async_trait]
impl FileWrite for ObjectWrite {
    async fn write(&mut self, bs: Bytes) -> Result<()> {
        self.writer.put(bs).await.map_err(|e| failed("write", &self.location, e))
    }

    async fn close(&mut self) -> Result<()> {
        self.writer
            .shutdown()
            .await
            .map_err(|e| Error::new(ErrorKind::Unexpected, format!("cannot write {}", self.location)).with_source(e))
    }
}
