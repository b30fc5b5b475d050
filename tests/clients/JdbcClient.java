// pgJDBC (what DBeaver, DataGrip, Tableau and Metabase use) against a
// running glaux. Run by tests/integration/drivers.rs (which starts the
// server and creates shop.sales) as:
//
//     java -cp /usr/share/java/postgresql.jar JdbcClient.java PORT [DB]
//
// Prints "ok NAME" or "FAIL NAME: why" per check; exits 1 if any failed.

import java.math.BigDecimal;
import java.sql.*;
import java.util.*;

public class JdbcClient {
    static int failed = 0;
    static String url;

    interface Body { void run() throws Exception; }

    static void check(String name, Body body) {
        try {
            body.run();
            System.out.println("ok " + name);
        } catch (Throwable t) {
            failed++;
            System.out.println("FAIL " + name + ": " + t);
        }
    }

    static void eq(Object expected, Object got, String what) {
        if (!Objects.equals(expected, got)) throw new AssertionError(what + ": expected " + expected + ", got " + got);
    }

    static Connection connect(String extra) throws SQLException {
        Properties p = new Properties();
        p.setProperty("user", "tester");
        return DriverManager.getConnection(url + extra, p);
    }

    static List<String> column(ResultSet rs, String name) throws SQLException {
        List<String> out = new ArrayList<>();
        while (rs.next()) out.add(rs.getString(name));
        return out;
    }

    public static void main(String[] args) throws Exception {
        String db = args.length > 1 ? args[1] : "glaux";
        url = "jdbc:postgresql://127.0.0.1:" + args[0] + "/" + db;

        check("jdbc.metadata", () -> {
            try (Connection c = connect("")) {
                DatabaseMetaData md = c.getMetaData();
                eq(true, md.getDatabaseProductVersion().startsWith("16"), "server version " + md.getDatabaseProductVersion());
                eq(List.of(db), column(md.getCatalogs(), "TABLE_CAT"), "getCatalogs");
                if (!column(md.getSchemas(), "TABLE_SCHEM").contains("shop")) throw new AssertionError("getSchemas lacks shop");
                eq(List.of("sales"), column(md.getTables(null, "shop", "%", new String[] {"TABLE"}), "TABLE_NAME"), "getTables");
                List<String> columns = new ArrayList<>(), types = new ArrayList<>();
                try (ResultSet rs = md.getColumns(null, "shop", "sales", "%")) {
                    while (rs.next()) { columns.add(rs.getString("COLUMN_NAME")); types.add(rs.getString("TYPE_NAME")); }
                }
                eq(List.of("id", "qty", "price", "amount", "region", "sale_date", "paid"), columns, "getColumns names");
                eq(List.of("int4", "int8", "float8", "numeric", "text", "date", "bool"), types, "getColumns types");
                List<String> typeInfo = column(md.getTypeInfo(), "TYPE_NAME");
                for (String t : List.of("int4", "text", "numeric", "timestamptz")) {
                    if (!typeInfo.contains(t)) throw new AssertionError("getTypeInfo lacks " + t);
                }
                eq(List.of(), column(md.getPrimaryKeys(null, "shop", "sales"), "COLUMN_NAME"), "getPrimaryKeys");
                eq(List.of(), column(md.getImportedKeys(null, "shop", "sales"), "FKCOLUMN_NAME"), "getImportedKeys");
                eq(List.of(), column(md.getIndexInfo(null, "shop", "sales", false, true), "INDEX_NAME"), "getIndexInfo");
                column(md.getFunctions(null, "pg_catalog", "version"), "FUNCTION_NAME");
                if (md.getSQLKeywords().isEmpty()) throw new AssertionError("getSQLKeywords empty");
            }
        });

        check("jdbc.resultset_metadata_and_getters", () -> {
            try (Connection c = connect(""); Statement st = c.createStatement();
                 ResultSet rs = st.executeQuery("SELECT id, qty, price, amount, region, sale_date, paid FROM shop.sales WHERE id = 2")) {
                ResultSetMetaData md = rs.getMetaData();
                eq("numeric", md.getColumnTypeName(4), "amount type");
                eq(12, md.getPrecision(4), "amount precision");
                eq(2, md.getScale(4), "amount scale");
                eq(true, rs.next(), "a row");
                eq(2, rs.getInt(1), "id");
                eq(3000000000L, rs.getLong(2), "qty");
                eq(2.25, rs.getDouble(3), "price");
                eq(new BigDecimal("1234567.89"), rs.getBigDecimal(4), "amount");
                eq("south", rs.getString(5), "region");
                eq(java.sql.Date.valueOf("2024-02-29"), rs.getDate(6), "sale_date");
                eq(false, rs.getBoolean(7), "paid");
            }
        });

        // prepareThreshold=5 (the default): the sixth execution switches to
        // a named server-side statement with binary transfer.
        check("jdbc.prepared_statement_parameters", () -> {
            try (Connection c = connect("");
                 PreparedStatement ps = c.prepareStatement(
                     "SELECT region FROM shop.sales WHERE id = ? AND qty > ? AND amount > ? AND sale_date > ? AND paid = ? AND region <> ?")) {
                for (int i = 0; i < 8; i++) {
                    ps.setInt(1, 1);
                    ps.setLong(2, 0L);
                    ps.setBigDecimal(3, new BigDecimal("1.5"));
                    ps.setDate(4, java.sql.Date.valueOf("2000-01-01"));
                    ps.setBoolean(5, true);
                    ps.setString(6, "x");
                    try (ResultSet rs = ps.executeQuery()) {
                        eq(true, rs.next(), "a row on execution " + i);
                        eq("north", rs.getString(1), "region on execution " + i);
                    }
                }
                ps.setNull(1, Types.INTEGER);
                try (ResultSet rs = ps.executeQuery()) { eq(false, rs.next(), "no row for NULL"); }
            }
        });

        check("jdbc.fetch_size_streams_with_autocommit_off", () -> {
            try (Connection c = connect("")) {
                c.setAutoCommit(false);
                try (Statement st = c.createStatement()) {
                    st.setFetchSize(100);
                    long n = 0;
                    try (ResultSet rs = st.executeQuery("SELECT value FROM generate_series(1, 5000)")) {
                        while (rs.next()) n += rs.getLong(1);
                    }
                    eq(12502500L, n, "sum of fetched rows");
                }
                c.commit();
            }
        });

        check("jdbc.sqlstate_and_recovery", () -> {
            try (Connection c = connect(""); Statement st = c.createStatement()) {
                try {
                    st.executeQuery("SELECT * FROM shop.nope");
                    throw new AssertionError("no error");
                } catch (SQLException e) {
                    eq("42P01", e.getSQLState(), "sqlstate");
                }
                try (ResultSet rs = st.executeQuery("SELECT 1")) { eq(true, rs.next(), "connection usable"); }
            }
        });

        check("jdbc.cancel_and_query_timeout", () -> {
            try (Connection c = connect(""); Statement st = c.createStatement()) {
                st.setQueryTimeout(1);
                try {
                    st.executeQuery("SELECT max(a.x + b.x) FROM generate_series(1, 100000) AS a(x) CROSS JOIN generate_series(1, 100000) AS b(x)");
                    throw new AssertionError("query finished before its timeout");
                } catch (SQLException e) {
                    eq("57014", e.getSQLState(), "sqlstate after timeout");
                }
                st.setQueryTimeout(0);
                try (ResultSet rs = st.executeQuery("SELECT 'alive'")) { eq(true, rs.next(), "connection usable"); }
            }
        });

        System.out.println(failed + " failed");
        System.exit(failed == 0 ? 0 : 1);
    }
}
