//! pg_catalog tables about schemas, relations and their columns, filled
//! from the catalog snapshot: pg_namespace, pg_class, pg_attribute,
//! pg_description, pg_tables, pg_views; and the ones glaux has no rows
//! for (indexes, constraints, triggers, rules, inheritance, defaults),
//! which clients query all the same.

use super::oid;
use super::rows::{bool, char, float4, int2, int4, null, oid as o, opt_text, text, Col, Rows};
use super::tables::{Context, SystemTable};
use super::types;
use Col::*;

pub static TABLES: &[SystemTable] = &[
    SystemTable {
        schema: "pg_catalog",
        name: "pg_namespace",
        columns: &[("oid", Oid), ("nspname", Text), ("nspowner", Oid), ("nspacl", TextArray)],
        fill: Some(pg_namespace),
    },
    SystemTable {
        schema: "pg_catalog",
        name: "pg_class",
        columns: &[
            ("oid", Oid),
            ("relname", Text),
            ("relnamespace", Oid),
            ("reltype", Oid),
            ("reloftype", Oid),
            ("relowner", Oid),
            ("relam", Oid),
            ("relfilenode", Oid),
            ("reltablespace", Oid),
            ("relpages", Int4),
            ("reltuples", Float4),
            ("relallvisible", Int4),
            ("reltoastrelid", Oid),
            ("relhasindex", Bool),
            ("relisshared", Bool),
            ("relpersistence", Text),
            ("relkind", Text),
            ("relnatts", Int2),
            ("relchecks", Int2),
            ("relhasrules", Bool),
            ("relhastriggers", Bool),
            ("relhassubclass", Bool),
            ("relrowsecurity", Bool),
            ("relforcerowsecurity", Bool),
            ("relispopulated", Bool),
            ("relreplident", Text),
            ("relispartition", Bool),
            ("relrewrite", Oid),
            ("relfrozenxid", Oid),
            ("relminmxid", Oid),
            ("relacl", TextArray),
            ("reloptions", TextArray),
            ("relpartbound", Text),
        ],
        fill: Some(pg_class),
    },
    SystemTable {
        schema: "pg_catalog",
        name: "pg_attribute",
        columns: &[
            ("attrelid", Oid),
            ("attname", Text),
            ("atttypid", Oid),
            ("attstattarget", Int4),
            ("attlen", Int2),
            ("attnum", Int2),
            ("attndims", Int4),
            ("attcacheoff", Int4),
            ("atttypmod", Int4),
            ("attbyval", Bool),
            ("attalign", Text),
            ("attstorage", Text),
            ("attcompression", Text),
            ("attnotnull", Bool),
            ("atthasdef", Bool),
            ("atthasmissing", Bool),
            ("attidentity", Text),
            ("attgenerated", Text),
            ("attisdropped", Bool),
            ("attislocal", Bool),
            ("attinhcount", Int4),
            ("attcollation", Oid),
            ("attacl", TextArray),
            ("attoptions", TextArray),
            ("attfdwoptions", TextArray),
            ("attmissingval", TextArray),
        ],
        fill: Some(pg_attribute),
    },
    SystemTable {
        schema: "pg_catalog",
        name: "pg_description",
        columns: &[("objoid", Oid), ("classoid", Oid), ("objsubid", Int4), ("description", Text)],
        fill: Some(pg_description),
    },
    SystemTable {
        schema: "pg_catalog",
        name: "pg_tables",
        columns: &[
            ("schemaname", Text),
            ("tablename", Text),
            ("tableowner", Text),
            ("tablespace", Text),
            ("hasindexes", Bool),
            ("hasrules", Bool),
            ("hastriggers", Bool),
            ("rowsecurity", Bool),
        ],
        fill: Some(pg_tables),
    },
    SystemTable {
        schema: "pg_catalog",
        name: "pg_views",
        columns: &[("schemaname", Text), ("viewname", Text), ("viewowner", Text), ("definition", Text)],
        fill: Some(pg_views),
    },
    SystemTable {
        schema: "pg_catalog",
        name: "pg_matviews",
        columns: &[
            ("schemaname", Text),
            ("matviewname", Text),
            ("matviewowner", Text),
            ("tablespace", Text),
            ("hasindexes", Bool),
            ("ispopulated", Bool),
            ("definition", Text),
        ],
        fill: None,
    },
    SystemTable {
        schema: "pg_catalog",
        name: "pg_index",
        columns: &[
            ("indexrelid", Oid),
            ("indrelid", Oid),
            ("indnatts", Int2),
            ("indnkeyatts", Int2),
            ("indisunique", Bool),
            ("indnullsnotdistinct", Bool),
            ("indisprimary", Bool),
            ("indisexclusion", Bool),
            ("indimmediate", Bool),
            ("indisclustered", Bool),
            ("indisvalid", Bool),
            ("indcheckxmin", Bool),
            ("indisready", Bool),
            ("indislive", Bool),
            ("indisreplident", Bool),
            ("indkey", Int2Array),
            ("indcollation", OidArray),
            ("indclass", OidArray),
            ("indoption", Int2Array),
            ("indexprs", Text),
            ("indpred", Text),
        ],
        fill: None,
    },
    SystemTable {
        schema: "pg_catalog",
        name: "pg_indexes",
        columns: &[
            ("schemaname", Text),
            ("tablename", Text),
            ("indexname", Text),
            ("tablespace", Text),
            ("indexdef", Text),
        ],
        fill: None,
    },
    SystemTable {
        schema: "pg_catalog",
        name: "pg_constraint",
        columns: &[
            ("oid", Oid),
            ("conname", Text),
            ("connamespace", Oid),
            ("contype", Text),
            ("condeferrable", Bool),
            ("condeferred", Bool),
            ("convalidated", Bool),
            ("conrelid", Oid),
            ("contypid", Oid),
            ("conindid", Oid),
            ("conparentid", Oid),
            ("confrelid", Oid),
            ("confupdtype", Text),
            ("confdeltype", Text),
            ("confmatchtype", Text),
            ("conislocal", Bool),
            ("coninhcount", Int4),
            ("connoinherit", Bool),
            ("conkey", Int2Array),
            ("confkey", Int2Array),
            ("conpfeqop", OidArray),
            ("conppeqop", OidArray),
            ("conffeqop", OidArray),
            ("confdelsetcols", Int2Array),
            ("conexclop", OidArray),
            ("conbin", Text),
        ],
        fill: None,
    },
    SystemTable {
        schema: "pg_catalog",
        name: "pg_attrdef",
        columns: &[("oid", Oid), ("adrelid", Oid), ("adnum", Int2), ("adbin", Text)],
        fill: None,
    },
    SystemTable {
        schema: "pg_catalog",
        name: "pg_inherits",
        columns: &[("inhrelid", Oid), ("inhparent", Oid), ("inhseqno", Int4), ("inhdetachpending", Bool)],
        fill: None,
    },
    SystemTable {
        schema: "pg_catalog",
        name: "pg_partitioned_table",
        columns: &[
            ("partrelid", Oid),
            ("partstrat", Text),
            ("partnatts", Int2),
            ("partdefid", Oid),
            ("partattrs", Int2Array),
            ("partclass", OidArray),
            ("partcollation", OidArray),
            ("partexprs", Text),
        ],
        fill: None,
    },
    SystemTable {
        schema: "pg_catalog",
        name: "pg_trigger",
        columns: &[
            ("oid", Oid),
            ("tgrelid", Oid),
            ("tgparentid", Oid),
            ("tgname", Text),
            ("tgfoid", Oid),
            ("tgtype", Int2),
            ("tgenabled", Text),
            ("tgisinternal", Bool),
            ("tgconstrrelid", Oid),
            ("tgconstrindid", Oid),
            ("tgconstraint", Oid),
            ("tgdeferrable", Bool),
            ("tginitdeferred", Bool),
            ("tgnargs", Int2),
            ("tgattr", Int2Array),
            ("tgargs", Text),
            ("tgqual", Text),
            ("tgoldtable", Text),
            ("tgnewtable", Text),
        ],
        fill: None,
    },
    SystemTable {
        schema: "pg_catalog",
        name: "pg_rewrite",
        columns: &[
            ("oid", Oid),
            ("rulename", Text),
            ("ev_class", Oid),
            ("ev_type", Text),
            ("ev_enabled", Text),
            ("is_instead", Bool),
            ("ev_qual", Text),
            ("ev_action", Text),
        ],
        fill: None,
    },
    SystemTable {
        schema: "pg_catalog",
        name: "pg_depend",
        columns: &[
            ("classid", Oid),
            ("objid", Oid),
            ("objsubid", Int4),
            ("refclassid", Oid),
            ("refobjid", Oid),
            ("refobjsubid", Int4),
            ("deptype", Text),
        ],
        fill: None,
    },
    SystemTable {
        schema: "pg_catalog",
        name: "pg_foreign_table",
        columns: &[("ftrelid", Oid), ("ftserver", Oid), ("ftoptions", TextArray)],
        fill: None,
    },
    SystemTable {
        schema: "pg_catalog",
        name: "pg_sequence",
        columns: &[
            ("seqrelid", Oid),
            ("seqtypid", Oid),
            ("seqstart", Int8),
            ("seqincrement", Int8),
            ("seqmax", Int8),
            ("seqmin", Int8),
            ("seqcache", Int8),
            ("seqcycle", Bool),
        ],
        fill: None,
    },
    SystemTable {
        schema: "pg_catalog",
        name: "pg_opclass",
        columns: &[
            ("oid", Oid),
            ("opcmethod", Oid),
            ("opcname", Text),
            ("opcnamespace", Oid),
            ("opcowner", Oid),
            ("opcfamily", Oid),
            ("opcintype", Oid),
            ("opcdefault", Bool),
            ("opckeytype", Oid),
        ],
        fill: None,
    },
    SystemTable {
        schema: "pg_catalog",
        name: "pg_policy",
        columns: &[
            ("oid", Oid),
            ("polname", Text),
            ("polrelid", Oid),
            ("polcmd", Text),
            ("polpermissive", Bool),
            ("polroles", OidArray),
            ("polqual", Text),
            ("polwithcheck", Text),
        ],
        fill: None,
    },
    SystemTable {
        schema: "pg_catalog",
        name: "pg_statistic_ext",
        columns: &[
            ("oid", Oid),
            ("stxrelid", Oid),
            ("stxname", Text),
            ("stxnamespace", Oid),
            ("stxowner", Oid),
            ("stxstattarget", Int4),
            ("stxkeys", Int2Array),
            ("stxkind", TextArray),
            ("stxexprs", Text),
        ],
        fill: None,
    },
    SystemTable {
        schema: "pg_catalog",
        name: "pg_publication",
        columns: &[
            ("oid", Oid),
            ("pubname", Text),
            ("pubowner", Oid),
            ("puballtables", Bool),
            ("pubinsert", Bool),
            ("pubupdate", Bool),
            ("pubdelete", Bool),
            ("pubtruncate", Bool),
            ("pubviaroot", Bool),
        ],
        fill: None,
    },
    SystemTable {
        schema: "pg_catalog",
        name: "pg_publication_namespace",
        columns: &[("oid", Oid), ("pnpubid", Oid), ("pnnspid", Oid)],
        fill: None,
    },
    SystemTable {
        schema: "pg_catalog",
        name: "pg_publication_rel",
        columns: &[("oid", Oid), ("prpubid", Oid), ("prrelid", Oid), ("prqual", Text), ("prattrs", Int2Array)],
        fill: None,
    },
    SystemTable {
        schema: "pg_catalog",
        name: "pg_stat_user_tables",
        columns: &[
            ("relid", Oid),
            ("schemaname", Text),
            ("relname", Text),
            ("seq_scan", Int8),
            ("n_live_tup", Int8),
            ("n_dead_tup", Int8),
        ],
        fill: Some(pg_stat_user_tables),
    },
];

/// Row counts glaux does not know without reading the files: NULL.
fn pg_stat_user_tables(cx: &Context, rows: &mut Rows) {
    for r in
        cx.snapshot.relations.iter().filter(|r| r.kind == 'r' && !super::SYSTEM_SCHEMAS.contains(&r.schema.as_str()))
    {
        rows.push(vec![o(r.oid), text(&r.schema), text(&r.name), null(), null(), null()]);
    }
}

fn pg_namespace(cx: &Context, rows: &mut Rows) {
    for ns in &cx.snapshot.namespaces {
        rows.push(vec![o(ns.oid), text(&ns.name), o(oid::OWNER), null()]);
    }
}

fn pg_class(cx: &Context, rows: &mut Rows) {
    for r in &cx.snapshot.relations {
        let table = r.kind == 'r';
        #[rustfmt::skip]
        rows.push(vec![
            o(r.oid), text(&r.name), o(r.namespace), o(0), o(0), o(oid::OWNER),
            o(if table { 2 } else { 0 }), o(0), o(0), int4(0), float4(-1.0), int4(0), o(0),
            bool(false), bool(false), char('p'), char(r.kind), int2(r.columns.len() as i16), int2(0),
            bool(!table), bool(false), bool(false), bool(false), bool(false), bool(true), char('d'),
            bool(false), o(0), o(0), o(0), null(), null(), null(),
        ]);
    }
}

fn pg_attribute(cx: &Context, rows: &mut Rows) {
    for r in &cx.snapshot.relations {
        for (i, a) in r.columns.iter().enumerate() {
            let t = types::by_oid(a.type_oid);
            let len = t.as_ref().map_or(-1, |t| t.len);
            let by_value = t.as_ref().is_some_and(|t| t.by_value);
            let align = t.as_ref().map_or('i', |t| t.align);
            let is_array = t.as_ref().is_some_and(|t| t.category == 'A');
            let collation = if t.as_ref().is_some_and(|t| t.category == 'S') { 100 } else { 0 };
            #[rustfmt::skip]
            rows.push(vec![
                o(r.oid), text(&a.name), o(a.type_oid), int4(-1), int2(len), int2(i as i16 + 1),
                int4(i32::from(is_array)), int4(-1), int4(a.typmod), bool(by_value), char(align),
                char(if len == -1 { 'x' } else { 'p' }), text(""), bool(false), bool(false), bool(false),
                text(""), text(""), bool(false), bool(true), int4(0), o(collation), null(), null(), null(), null(),
            ]);
        }
    }
}

fn pg_description(cx: &Context, rows: &mut Rows) {
    for ns in &cx.snapshot.namespaces {
        if let Some(c) = &ns.comment {
            rows.push(vec![o(ns.oid), o(oid::PG_NAMESPACE), int4(0), text(c)]);
        }
    }
    for r in &cx.snapshot.relations {
        if let Some(c) = &r.comment {
            rows.push(vec![o(r.oid), o(oid::PG_CLASS), int4(0), text(c)]);
        }
        for (i, a) in r.columns.iter().enumerate() {
            if let Some(c) = &a.comment {
                rows.push(vec![o(r.oid), o(oid::PG_CLASS), int4(i as i32 + 1), text(c)]);
            }
        }
    }
}

fn pg_tables(cx: &Context, rows: &mut Rows) {
    let owner = &cx.session.user;
    for r in cx.snapshot.relations.iter().filter(|r| r.kind == 'r') {
        #[rustfmt::skip]
        rows.push(vec![
            text(&r.schema), text(&r.name), text(owner), null(), bool(false), bool(false), bool(false), bool(false),
        ]);
    }
}

fn pg_views(cx: &Context, rows: &mut Rows) {
    let owner = &cx.session.user;
    for r in cx.snapshot.relations.iter().filter(|r| r.kind == 'v') {
        rows.push(vec![text(&r.schema), text(&r.name), text(owner), opt_text(r.definition.clone())]);
    }
}
