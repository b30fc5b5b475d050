//! information_schema: the SQL standard's views of the catalog (schemata,
//! tables, columns, views), filled from the same snapshot as pg_catalog,
//! and the constraint views, empty since glaux tables have no constraints.

use super::rows::{int4, null, text, Col, Rows};
use super::tables::{Context, SystemTable};
use super::types;
use Col::*;

const SCHEMA: &str = "information_schema";

pub static TABLES: &[SystemTable] = &[
    SystemTable {
        schema: SCHEMA,
        name: "schemata",
        columns: &[
            ("catalog_name", Text),
            ("schema_name", Text),
            ("schema_owner", Text),
            ("default_character_set_catalog", Text),
            ("default_character_set_schema", Text),
            ("default_character_set_name", Text),
            ("sql_path", Text),
        ],
        fill: Some(schemata),
    },
    SystemTable {
        schema: SCHEMA,
        name: "tables",
        columns: &[
            ("table_catalog", Text),
            ("table_schema", Text),
            ("table_name", Text),
            ("table_type", Text),
            ("self_referencing_column_name", Text),
            ("reference_generation", Text),
            ("user_defined_type_catalog", Text),
            ("user_defined_type_schema", Text),
            ("user_defined_type_name", Text),
            ("is_insertable_into", Text),
            ("is_typed", Text),
            ("commit_action", Text),
        ],
        fill: Some(tables),
    },
    SystemTable {
        schema: SCHEMA,
        name: "columns",
        columns: &[
            ("table_catalog", Text),
            ("table_schema", Text),
            ("table_name", Text),
            ("column_name", Text),
            ("ordinal_position", Int4),
            ("column_default", Text),
            ("is_nullable", Text),
            ("data_type", Text),
            ("character_maximum_length", Int4),
            ("character_octet_length", Int4),
            ("numeric_precision", Int4),
            ("numeric_precision_radix", Int4),
            ("numeric_scale", Int4),
            ("datetime_precision", Int4),
            ("interval_type", Text),
            ("interval_precision", Int4),
            ("character_set_catalog", Text),
            ("character_set_schema", Text),
            ("character_set_name", Text),
            ("collation_catalog", Text),
            ("collation_schema", Text),
            ("collation_name", Text),
            ("domain_catalog", Text),
            ("domain_schema", Text),
            ("domain_name", Text),
            ("udt_catalog", Text),
            ("udt_schema", Text),
            ("udt_name", Text),
            ("scope_catalog", Text),
            ("scope_schema", Text),
            ("scope_name", Text),
            ("maximum_cardinality", Int4),
            ("dtd_identifier", Text),
            ("is_self_referencing", Text),
            ("is_identity", Text),
            ("identity_generation", Text),
            ("identity_start", Text),
            ("identity_increment", Text),
            ("identity_maximum", Text),
            ("identity_minimum", Text),
            ("identity_cycle", Text),
            ("is_generated", Text),
            ("generation_expression", Text),
            ("is_updatable", Text),
        ],
        fill: Some(columns),
    },
    SystemTable {
        schema: SCHEMA,
        name: "views",
        columns: &[
            ("table_catalog", Text),
            ("table_schema", Text),
            ("table_name", Text),
            ("view_definition", Text),
            ("check_option", Text),
            ("is_updatable", Text),
            ("is_insertable_into", Text),
            ("is_trigger_updatable", Text),
            ("is_trigger_deletable", Text),
            ("is_trigger_insertable_into", Text),
        ],
        fill: Some(views),
    },
    SystemTable {
        schema: SCHEMA,
        name: "character_sets",
        columns: &[
            ("character_set_catalog", Text),
            ("character_set_schema", Text),
            ("character_set_name", Text),
            ("character_repertoire", Text),
            ("form_of_use", Text),
            ("default_collate_catalog", Text),
            ("default_collate_schema", Text),
            ("default_collate_name", Text),
        ],
        fill: Some(character_sets),
    },
    SystemTable {
        schema: SCHEMA,
        name: "table_constraints",
        columns: &[
            ("constraint_catalog", Text),
            ("constraint_schema", Text),
            ("constraint_name", Text),
            ("table_catalog", Text),
            ("table_schema", Text),
            ("table_name", Text),
            ("constraint_type", Text),
            ("is_deferrable", Text),
            ("initially_deferred", Text),
            ("enforced", Text),
            ("nulls_distinct", Text),
        ],
        fill: None,
    },
    SystemTable {
        schema: SCHEMA,
        name: "key_column_usage",
        columns: &[
            ("constraint_catalog", Text),
            ("constraint_schema", Text),
            ("constraint_name", Text),
            ("table_catalog", Text),
            ("table_schema", Text),
            ("table_name", Text),
            ("column_name", Text),
            ("ordinal_position", Int4),
            ("position_in_unique_constraint", Int4),
        ],
        fill: None,
    },
    SystemTable {
        schema: SCHEMA,
        name: "referential_constraints",
        columns: &[
            ("constraint_catalog", Text),
            ("constraint_schema", Text),
            ("constraint_name", Text),
            ("unique_constraint_catalog", Text),
            ("unique_constraint_schema", Text),
            ("unique_constraint_name", Text),
            ("match_option", Text),
            ("update_rule", Text),
            ("delete_rule", Text),
        ],
        fill: None,
    },
    SystemTable {
        schema: SCHEMA,
        name: "constraint_column_usage",
        columns: &[
            ("table_catalog", Text),
            ("table_schema", Text),
            ("table_name", Text),
            ("column_name", Text),
            ("constraint_catalog", Text),
            ("constraint_schema", Text),
            ("constraint_name", Text),
        ],
        fill: None,
    },
    SystemTable {
        schema: SCHEMA,
        name: "routines",
        columns: &[
            ("specific_catalog", Text),
            ("specific_schema", Text),
            ("specific_name", Text),
            ("routine_catalog", Text),
            ("routine_schema", Text),
            ("routine_name", Text),
            ("routine_type", Text),
            ("data_type", Text),
        ],
        fill: None,
    },
];

fn schemata(cx: &Context, rows: &mut Rows) {
    for ns in &cx.snapshot.namespaces {
        #[rustfmt::skip]
        rows.push(vec![
            text(&cx.session.database), text(&ns.name), text(&cx.session.user), null(), null(), null(), null(),
        ]);
    }
}

fn tables(cx: &Context, rows: &mut Rows) {
    for r in &cx.snapshot.relations {
        let kind = if r.kind == 'v' { "VIEW" } else { "BASE TABLE" };
        #[rustfmt::skip]
        rows.push(vec![
            text(&cx.session.database), text(&r.schema), text(&r.name), text(kind), null(), null(), null(), null(),
            null(), text("NO"), text("NO"), null(),
        ]);
    }
}

fn columns(cx: &Context, rows: &mut Rows) {
    for r in &cx.snapshot.relations {
        for (i, a) in r.columns.iter().enumerate() {
            let t = types::by_oid(a.type_oid);
            let udt = t.as_ref().map_or_else(|| "text".to_string(), |t| t.name.to_string());
            let facts = TypeFacts::of(a.type_oid, a.typmod);
            #[rustfmt::skip]
            rows.push(vec![
                text(&cx.session.database), text(&r.schema), text(&r.name), text(&a.name), int4(i as i32 + 1),
                null(), text("YES"), text(facts.data_type), facts.char_length, facts.octet_length,
                facts.precision, facts.radix, facts.scale, facts.datetime_precision, null(), null(),
                null(), null(), null(), null(), null(), null(), null(), null(), null(),
                text(&cx.session.database), text("pg_catalog"), text(udt), null(), null(), null(), null(),
                text((i + 1).to_string()), text("NO"), text("NO"), null(), null(), null(), null(), null(),
                text("NO"), text("NEVER"), null(), text("NO"),
            ]);
        }
    }
}

/// The information_schema description of a column type.
struct TypeFacts {
    data_type: &'static str,
    char_length: datafusion::common::ScalarValue,
    octet_length: datafusion::common::ScalarValue,
    precision: datafusion::common::ScalarValue,
    radix: datafusion::common::ScalarValue,
    scale: datafusion::common::ScalarValue,
    datetime_precision: datafusion::common::ScalarValue,
}

impl TypeFacts {
    fn of(type_oid: u32, typmod: i32) -> TypeFacts {
        let mut f = TypeFacts {
            data_type: "USER-DEFINED",
            char_length: null(),
            octet_length: null(),
            precision: null(),
            radix: null(),
            scale: null(),
            datetime_precision: null(),
        };
        let binary = |bits: i32| (int4(bits), int4(2), int4(0));
        let (data_type, numeric) = match type_oid {
            16 => ("boolean", None),
            21 => ("smallint", Some(binary(16))),
            23 => ("integer", Some(binary(32))),
            20 => ("bigint", Some(binary(64))),
            700 => ("real", Some((int4(24), int4(2), null()))),
            701 => ("double precision", Some((int4(53), int4(2), null()))),
            1700 if typmod >= 4 => {
                let m = typmod - 4;
                ("numeric", Some((int4((m >> 16) & 0xffff), int4(10), int4(m & 0xffff))))
            }
            1700 => ("numeric", Some((null(), int4(10), null()))),
            25 => ("text", None),
            1043 => ("character varying", None),
            1042 => ("character", None),
            17 => ("bytea", None),
            1082 => ("date", None),
            1083 => ("time without time zone", None),
            1114 => ("timestamp without time zone", None),
            1184 => ("timestamp with time zone", None),
            1186 => ("interval", None),
            2950 => ("uuid", None),
            114 => ("json", None),
            26 => ("oid", None),
            t if types::by_oid(t).is_some_and(|t| t.category == 'A') => ("ARRAY", None),
            _ => ("USER-DEFINED", None),
        };
        f.data_type = data_type;
        if let Some((p, r, s)) = numeric {
            f.precision = p;
            f.radix = r;
            f.scale = s;
        }
        match type_oid {
            25 | 1043 | 1042 => {
                if typmod >= 4 {
                    f.char_length = int4(typmod - 4);
                    f.octet_length = int4((typmod - 4) * 4);
                } else {
                    f.octet_length = int4(1_073_741_824);
                }
            }
            1082 => f.datetime_precision = int4(0),
            1083 | 1114 | 1184 | 1186 => f.datetime_precision = int4(if typmod >= 0 { typmod } else { 6 }),
            _ => {}
        }
        f
    }
}

fn views(cx: &Context, rows: &mut Rows) {
    for r in cx.snapshot.relations.iter().filter(|r| r.kind == 'v' && r.definition.is_some()) {
        #[rustfmt::skip]
        rows.push(vec![
            text(&cx.session.database), text(&r.schema), text(&r.name), text(r.definition.clone().unwrap_or_default()),
            text("NONE"), text("NO"), text("NO"), text("NO"), text("NO"), text("NO"),
        ]);
    }
}

fn character_sets(cx: &Context, rows: &mut Rows) {
    #[rustfmt::skip]
    rows.push(vec![
        null(), null(), text("UTF8"), text("UCS"), text("UTF8"), text(&cx.session.database), text("pg_catalog"),
        text("C.UTF-8"),
    ]);
}
