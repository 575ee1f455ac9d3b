import java.sql.Connection;
import java.sql.DatabaseMetaData;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.Statement;

/**
 * What DBeaver and Metabase do first with a PostgreSQL connection, through pgJDBC: DatabaseMetaData (schemas, tables,
 * columns, primary keys) and a prepared statement with parameters, run past the driver's switch to server-side
 * prepared statements. Prints one line per fact, so the same program's output from two servers can be compared.
 * Usage: java -cp /usr/share/java/postgresql.jar JdbcCheck.java URL USER PASSWORD SCHEMA TABLE
 */
public class JdbcCheck {
    public static void main(String[] args) throws Exception {
        String schema = args[3], table = args[4];
        try (Connection c = DriverManager.getConnection(args[0], args[1], args[2])) {
            DatabaseMetaData m = c.getMetaData();
            System.out.println("product:" + m.getDatabaseProductName());
            try (ResultSet r = m.getSchemas()) {
                while (r.next()) System.out.println("schema:" + r.getString("TABLE_SCHEM"));
            }
            try (ResultSet r = m.getTables(null, schema, "%", new String[] {"TABLE"})) {
                while (r.next())
                    System.out.println("table:" + r.getString("TABLE_SCHEM") + "." + r.getString("TABLE_NAME") + ":" + r.getString("TABLE_TYPE") + ":" + r.getString("REMARKS"));
            }
            try (ResultSet r = m.getColumns(null, schema, table, "%")) {
                while (r.next())
                    System.out.println("column:" + r.getString("COLUMN_NAME") + ":" + r.getString("TYPE_NAME") + ":" + r.getInt("DATA_TYPE") + ":" + r.getInt("ORDINAL_POSITION"));
            }
            try (ResultSet r = m.getPrimaryKeys(null, schema, table)) {
                while (r.next()) System.out.println("pk:" + r.getString("COLUMN_NAME") + ":" + r.getInt("KEY_SEQ") + ":" + r.getString("PK_NAME"));
            }
            try (PreparedStatement p = c.prepareStatement("SELECT id, name, grp FROM " + schema + "." + table + " WHERE id BETWEEN ? AND ? ORDER BY id")) {
                // pgJDBC prepares on the server from the fifth execution on: both paths run.
                for (int i = 1; i <= 7; i++) {
                    p.setLong(1, i * 10);
                    p.setLong(2, i * 10 + 1);
                    try (ResultSet r = p.executeQuery()) {
                        while (r.next()) System.out.println("row:" + r.getLong(1) + ":" + r.getString(2) + ":" + r.getLong(3));
                    }
                }
            }
            // One instant, whatever zone the session and the JVM are in.
            try (Statement s = c.createStatement(); ResultSet r = s.executeQuery("SELECT TIMESTAMPTZ '2024-07-01 12:00:00+02'")) {
                r.next();
                System.out.println("instant:" + r.getObject(1, java.time.OffsetDateTime.class).toInstant());
            }
        }
    }
}
