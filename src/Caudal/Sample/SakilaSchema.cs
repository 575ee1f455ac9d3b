namespace Caudal.Sample;

/// <summary>Caudal's own DDL for a database in the shape of MySQL's Sakila v1.5: the same 16 tables, columns and
/// declared types, written for SQLite (which keeps the declared type names that the SQLite source maps; ENUM and SET
/// keep their names, their allowed values become CHECK constraints or are documented).</summary>
internal static class SakilaSchema
{
    public const string Sqlite = """
        CREATE TABLE actor (
          actor_id SMALLINT UNSIGNED NOT NULL PRIMARY KEY,
          first_name VARCHAR(45) NOT NULL,
          last_name VARCHAR(45) NOT NULL,
          last_update TIMESTAMP NOT NULL);
        CREATE TABLE country (
          country_id SMALLINT UNSIGNED NOT NULL PRIMARY KEY,
          country VARCHAR(50) NOT NULL,
          last_update TIMESTAMP NOT NULL);
        CREATE TABLE city (
          city_id SMALLINT UNSIGNED NOT NULL PRIMARY KEY,
          city VARCHAR(50) NOT NULL,
          country_id SMALLINT UNSIGNED NOT NULL REFERENCES country (country_id),
          last_update TIMESTAMP NOT NULL);
        CREATE TABLE address (
          address_id SMALLINT UNSIGNED NOT NULL PRIMARY KEY,
          address VARCHAR(50) NOT NULL,
          address2 VARCHAR(50) DEFAULT NULL,
          district VARCHAR(20) NOT NULL,
          city_id SMALLINT UNSIGNED NOT NULL REFERENCES city (city_id),
          postal_code VARCHAR(10) DEFAULT NULL,
          phone VARCHAR(20) NOT NULL,
          location GEOMETRY NOT NULL,
          last_update TIMESTAMP NOT NULL);
        CREATE TABLE category (
          category_id TINYINT UNSIGNED NOT NULL PRIMARY KEY,
          name VARCHAR(25) NOT NULL,
          last_update TIMESTAMP NOT NULL);
        CREATE TABLE language (
          language_id TINYINT UNSIGNED NOT NULL PRIMARY KEY,
          name CHAR(20) NOT NULL,
          last_update TIMESTAMP NOT NULL);
        CREATE TABLE film (
          film_id SMALLINT UNSIGNED NOT NULL PRIMARY KEY,
          title VARCHAR(128) NOT NULL,
          description TEXT DEFAULT NULL,
          release_year YEAR DEFAULT NULL,
          language_id TINYINT UNSIGNED NOT NULL REFERENCES language (language_id),
          original_language_id TINYINT UNSIGNED DEFAULT NULL REFERENCES language (language_id),
          rental_duration TINYINT UNSIGNED NOT NULL DEFAULT 3,
          rental_rate DECIMAL(4,2) NOT NULL DEFAULT 4.99,
          length SMALLINT UNSIGNED DEFAULT NULL,
          replacement_cost DECIMAL(5,2) NOT NULL DEFAULT 19.99,
          rating ENUM DEFAULT 'G' CHECK (rating IN ('G','PG','PG-13','R','NC-17')),
          special_features "SET" DEFAULT NULL,
          last_update TIMESTAMP NOT NULL);
        CREATE TABLE film_actor (
          actor_id SMALLINT UNSIGNED NOT NULL REFERENCES actor (actor_id),
          film_id SMALLINT UNSIGNED NOT NULL REFERENCES film (film_id),
          last_update TIMESTAMP NOT NULL,
          PRIMARY KEY (actor_id, film_id));
        CREATE TABLE film_category (
          film_id SMALLINT UNSIGNED NOT NULL REFERENCES film (film_id),
          category_id TINYINT UNSIGNED NOT NULL REFERENCES category (category_id),
          last_update TIMESTAMP NOT NULL,
          PRIMARY KEY (film_id, category_id));
        CREATE TABLE film_text (
          film_id SMALLINT UNSIGNED NOT NULL PRIMARY KEY,
          title VARCHAR(255) NOT NULL,
          description TEXT);
        CREATE TABLE store (
          store_id TINYINT UNSIGNED NOT NULL PRIMARY KEY,
          manager_staff_id TINYINT UNSIGNED NOT NULL,
          address_id SMALLINT UNSIGNED NOT NULL REFERENCES address (address_id),
          last_update TIMESTAMP NOT NULL);
        CREATE TABLE staff (
          staff_id TINYINT UNSIGNED NOT NULL PRIMARY KEY,
          first_name VARCHAR(45) NOT NULL,
          last_name VARCHAR(45) NOT NULL,
          address_id SMALLINT UNSIGNED NOT NULL REFERENCES address (address_id),
          picture BLOB DEFAULT NULL,
          email VARCHAR(50) DEFAULT NULL,
          store_id TINYINT UNSIGNED NOT NULL REFERENCES store (store_id),
          active BOOLEAN NOT NULL DEFAULT TRUE,
          username VARCHAR(16) NOT NULL,
          password VARCHAR(40) DEFAULT NULL,
          last_update TIMESTAMP NOT NULL);
        CREATE TABLE customer (
          customer_id SMALLINT UNSIGNED NOT NULL PRIMARY KEY,
          store_id TINYINT UNSIGNED NOT NULL REFERENCES store (store_id),
          first_name VARCHAR(45) NOT NULL,
          last_name VARCHAR(45) NOT NULL,
          email VARCHAR(50) DEFAULT NULL,
          address_id SMALLINT UNSIGNED NOT NULL REFERENCES address (address_id),
          active BOOLEAN NOT NULL DEFAULT TRUE,
          create_date DATETIME NOT NULL,
          last_update TIMESTAMP DEFAULT NULL);
        CREATE TABLE inventory (
          inventory_id MEDIUMINT UNSIGNED NOT NULL PRIMARY KEY,
          film_id SMALLINT UNSIGNED NOT NULL REFERENCES film (film_id),
          store_id TINYINT UNSIGNED NOT NULL REFERENCES store (store_id),
          last_update TIMESTAMP NOT NULL);
        CREATE TABLE rental (
          rental_id INT NOT NULL PRIMARY KEY,
          rental_date DATETIME NOT NULL,
          inventory_id MEDIUMINT UNSIGNED NOT NULL REFERENCES inventory (inventory_id),
          customer_id SMALLINT UNSIGNED NOT NULL REFERENCES customer (customer_id),
          return_date DATETIME DEFAULT NULL,
          staff_id TINYINT UNSIGNED NOT NULL REFERENCES staff (staff_id),
          last_update TIMESTAMP NOT NULL);
        CREATE TABLE payment (
          payment_id SMALLINT UNSIGNED NOT NULL PRIMARY KEY,
          customer_id SMALLINT UNSIGNED NOT NULL REFERENCES customer (customer_id),
          staff_id TINYINT UNSIGNED NOT NULL REFERENCES staff (staff_id),
          rental_id INT DEFAULT NULL REFERENCES rental (rental_id),
          amount DECIMAL(5,2) NOT NULL,
          payment_date DATETIME NOT NULL,
          last_update TIMESTAMP DEFAULT NULL);
        """;

    /// <summary>The 109 country names of Sakila v1.5 (public data; Sakila's own spellings, e.g. "Kazakstan").</summary>
    public static readonly string[] Countries =
    [
        "Afghanistan", "Algeria", "American Samoa", "Angola", "Anguilla", "Argentina", "Armenia", "Australia", "Austria",
        "Azerbaijan", "Bahrain", "Bangladesh", "Belarus", "Bolivia", "Brazil", "Brunei", "Bulgaria", "Cambodia", "Cameroon",
        "Canada", "Chad", "Chile", "China", "Colombia", "Congo, The Democratic Republic of the", "Czech Republic",
        "Dominican Republic", "Ecuador", "Egypt", "Estonia", "Ethiopia", "Faroe Islands", "Finland", "France",
        "French Guiana", "French Polynesia", "Gambia", "Germany", "Greece", "Greenland", "Holy See (Vatican City State)",
        "Hong Kong", "Hungary", "India", "Indonesia", "Iran", "Iraq", "Israel", "Italy", "Japan", "Kazakstan", "Kenya",
        "Kuwait", "Latvia", "Liechtenstein", "Lithuania", "Madagascar", "Malawi", "Malaysia", "Mexico", "Moldova",
        "Morocco", "Mozambique", "Myanmar", "Nauru", "Nepal", "Netherlands", "New Zealand", "Nigeria", "North Korea",
        "Oman", "Pakistan", "Paraguay", "Peru", "Philippines", "Poland", "Puerto Rico", "Romania", "Réunion",
        "Russian Federation", "Saint Vincent and the Grenadines", "Saudi Arabia", "Senegal", "Slovakia", "South Africa",
        "South Korea", "Spain", "Sri Lanka", "Sudan", "Sweden", "Switzerland", "Taiwan", "Tanzania", "Thailand", "Tonga",
        "Tunisia", "Turkey", "Turkmenistan", "Tuvalu", "Ukraine", "United Arab Emirates", "United Kingdom",
        "United States", "Venezuela", "Vietnam", "Virgin Islands, U.S.", "Yemen", "Yugoslavia", "Zambia",
    ];

    public static readonly string[] Categories =
    [
        "Action", "Animation", "Children", "Classics", "Comedy", "Documentary", "Drama", "Family", "Foreign", "Games",
        "Horror", "Music", "New", "Sci-Fi", "Sports", "Travel",
    ];

    public static readonly string[] Languages = ["English", "Italian", "Japanese", "Mandarin", "French", "German"];
}
