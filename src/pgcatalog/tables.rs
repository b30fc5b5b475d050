//! The registry of system tables: each one's schema, name, columns and the
//! function that fills its rows from a [`Context`]. The tables themselves
//! are defined in [`super::relations`], [`super::system`] and
//! [`super::information_schema`].

use super::rows::{Col, Rows};
use super::snapshot::{Attribute, Relation, SessionView, Snapshot};
use super::{information_schema, oid, relations, system};

/// What a system table's rows are made from.
pub struct Context<'a> {
    pub session: &'a SessionView,
    pub snapshot: &'a Snapshot,
}

/// One system table (or view: glaux builds both the same way).
pub struct SystemTable {
    pub schema: &'static str,
    pub name: &'static str,
    pub columns: &'static [(&'static str, Col)],
    /// What fills its rows; None for a table PostgreSQL has that glaux
    /// has no rows for (constraints, indexes, triggers ...): clients
    /// still query it.
    pub fill: Option<fn(&Context, &mut Rows)>,
}

impl SystemTable {
    pub fn build(&self, context: &Context) -> Rows {
        let mut rows = Rows::new(self.columns);
        if let Some(fill) = self.fill {
            fill(context, &mut rows);
        }
        rows
    }
}

/// Every system table.
pub fn all() -> impl Iterator<Item = &'static SystemTable> {
    relations::TABLES.iter().chain(system::TABLES).chain(information_schema::TABLES)
}

/// The system table `schema.name`.
pub fn find(schema: &str, name: &str) -> Option<&'static SystemTable> {
    all().find(|t| t.schema == schema && t.name == name)
}

/// Whether an unqualified `name` is a pg_catalog table (PostgreSQL
/// searches pg_catalog before the search path).
pub fn is_pg_catalog_table(name: &str) -> bool {
    find("pg_catalog", name).is_some()
}

/// Whether pg_catalog table `name` never has rows in glaux (pg_policy,
/// pg_trigger ...: objects glaux has no notion of).
pub fn is_always_empty(name: &str) -> bool {
    find("pg_catalog", name).is_some_and(|t| t.fill.is_none())
}

/// The system tables as relations, for pg_class and pg_attribute.
pub fn system_relations() -> Vec<Relation> {
    all()
        .map(|t| Relation {
            oid: oid::relation(t.schema, t.name),
            name: t.name.to_string(),
            schema: t.schema.to_string(),
            namespace: oid::namespace(t.schema),
            // pg_catalog holds tables, information_schema views.
            kind: if t.schema == "pg_catalog" { 'r' } else { 'v' },
            comment: None,
            columns: t
                .columns
                .iter()
                .map(|(name, col)| Attribute {
                    name: name.to_string(),
                    type_oid: col.type_oid(),
                    typmod: -1,
                    comment: None,
                })
                .collect(),
            definition: None,
        })
        .collect()
}
