namespace Caudal.Sample;

/// <summary>Caudal's own DDL for Sakila-shaped databases on MySQL/MariaDB and PostgreSQL (the types of the official
/// MySQL schema v1.5; on PostgreSQL the usual port: an enum for rating, text[] for special_features, a year domain).</summary>
internal static class SakilaServerSchema
{
    public const string MySql = """
        CREATE TABLE actor (actor_id SMALLINT UNSIGNED NOT NULL PRIMARY KEY, first_name VARCHAR(45) NOT NULL, last_name VARCHAR(45) NOT NULL,
          last_update TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP);
        CREATE TABLE country (country_id SMALLINT UNSIGNED NOT NULL PRIMARY KEY, country VARCHAR(50) NOT NULL,
          last_update TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP);
        CREATE TABLE city (city_id SMALLINT UNSIGNED NOT NULL PRIMARY KEY, city VARCHAR(50) NOT NULL, country_id SMALLINT UNSIGNED NOT NULL,
          last_update TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP);
        CREATE TABLE address (address_id SMALLINT UNSIGNED NOT NULL PRIMARY KEY, address VARCHAR(50) NOT NULL, address2 VARCHAR(50) DEFAULT NULL,
          district VARCHAR(20) NOT NULL, city_id SMALLINT UNSIGNED NOT NULL, postal_code VARCHAR(10) DEFAULT NULL, phone VARCHAR(20) NOT NULL,
          location GEOMETRY NOT NULL, last_update TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP);
        CREATE TABLE category (category_id TINYINT UNSIGNED NOT NULL PRIMARY KEY, name VARCHAR(25) NOT NULL,
          last_update TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP);
        CREATE TABLE language (language_id TINYINT UNSIGNED NOT NULL PRIMARY KEY, name CHAR(20) NOT NULL,
          last_update TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP);
        CREATE TABLE film (film_id SMALLINT UNSIGNED NOT NULL PRIMARY KEY, title VARCHAR(128) NOT NULL, description TEXT DEFAULT NULL,
          release_year YEAR DEFAULT NULL, language_id TINYINT UNSIGNED NOT NULL, original_language_id TINYINT UNSIGNED DEFAULT NULL,
          rental_duration TINYINT UNSIGNED NOT NULL DEFAULT 3, rental_rate DECIMAL(4,2) NOT NULL DEFAULT 4.99, length SMALLINT UNSIGNED DEFAULT NULL,
          replacement_cost DECIMAL(5,2) NOT NULL DEFAULT 19.99, rating ENUM('G','PG','PG-13','R','NC-17') DEFAULT 'G',
          special_features SET('Trailers','Commentaries','Deleted Scenes','Behind the Scenes') DEFAULT NULL,
          last_update TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP);
        CREATE TABLE film_actor (actor_id SMALLINT UNSIGNED NOT NULL, film_id SMALLINT UNSIGNED NOT NULL,
          last_update TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP, PRIMARY KEY (actor_id, film_id));
        CREATE TABLE film_category (film_id SMALLINT UNSIGNED NOT NULL, category_id TINYINT UNSIGNED NOT NULL,
          last_update TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP, PRIMARY KEY (film_id, category_id));
        CREATE TABLE film_text (film_id SMALLINT UNSIGNED NOT NULL PRIMARY KEY, title VARCHAR(255) NOT NULL, description TEXT);
        CREATE TABLE store (store_id TINYINT UNSIGNED NOT NULL PRIMARY KEY, manager_staff_id TINYINT UNSIGNED NOT NULL, address_id SMALLINT UNSIGNED NOT NULL,
          last_update TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP);
        CREATE TABLE staff (staff_id TINYINT UNSIGNED NOT NULL PRIMARY KEY, first_name VARCHAR(45) NOT NULL, last_name VARCHAR(45) NOT NULL,
          address_id SMALLINT UNSIGNED NOT NULL, picture BLOB DEFAULT NULL, email VARCHAR(50) DEFAULT NULL, store_id TINYINT UNSIGNED NOT NULL,
          active BOOLEAN NOT NULL DEFAULT TRUE, username VARCHAR(16) NOT NULL, password VARCHAR(40) BINARY DEFAULT NULL,
          last_update TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP);
        CREATE TABLE customer (customer_id SMALLINT UNSIGNED NOT NULL PRIMARY KEY, store_id TINYINT UNSIGNED NOT NULL, first_name VARCHAR(45) NOT NULL,
          last_name VARCHAR(45) NOT NULL, email VARCHAR(50) DEFAULT NULL, address_id SMALLINT UNSIGNED NOT NULL, active BOOLEAN NOT NULL DEFAULT TRUE,
          create_date DATETIME NOT NULL, last_update TIMESTAMP NULL DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP);
        CREATE TABLE inventory (inventory_id MEDIUMINT UNSIGNED NOT NULL PRIMARY KEY, film_id SMALLINT UNSIGNED NOT NULL, store_id TINYINT UNSIGNED NOT NULL,
          last_update TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP);
        CREATE TABLE rental (rental_id INT NOT NULL PRIMARY KEY, rental_date DATETIME NOT NULL, inventory_id MEDIUMINT UNSIGNED NOT NULL,
          customer_id SMALLINT UNSIGNED NOT NULL, return_date DATETIME DEFAULT NULL, staff_id TINYINT UNSIGNED NOT NULL,
          last_update TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP);
        CREATE TABLE payment (payment_id INT UNSIGNED NOT NULL PRIMARY KEY, customer_id SMALLINT UNSIGNED NOT NULL, staff_id TINYINT UNSIGNED NOT NULL,
          rental_id INT DEFAULT NULL, amount DECIMAL(5,2) NOT NULL, payment_date DATETIME NOT NULL,
          last_update TIMESTAMP NULL DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP);
        """;

    public const string Postgres = """
        CREATE TYPE mpaa_rating AS ENUM ('G', 'PG', 'PG-13', 'R', 'NC-17');
        CREATE DOMAIN year AS integer CONSTRAINT year_check CHECK (VALUE >= 1901 AND VALUE <= 2155);
        CREATE TABLE actor (actor_id integer PRIMARY KEY, first_name varchar(45) NOT NULL, last_name varchar(45) NOT NULL, last_update timestamp NOT NULL DEFAULT now());
        CREATE TABLE country (country_id integer PRIMARY KEY, country varchar(50) NOT NULL, last_update timestamp NOT NULL DEFAULT now());
        CREATE TABLE city (city_id integer PRIMARY KEY, city varchar(50) NOT NULL, country_id integer NOT NULL, last_update timestamp NOT NULL DEFAULT now());
        CREATE TABLE address (address_id integer PRIMARY KEY, address varchar(50) NOT NULL, address2 varchar(50), district varchar(20) NOT NULL,
          city_id integer NOT NULL, postal_code varchar(10), phone varchar(20) NOT NULL, location bytea NOT NULL, last_update timestamp NOT NULL DEFAULT now());
        CREATE TABLE category (category_id integer PRIMARY KEY, name varchar(25) NOT NULL, last_update timestamp NOT NULL DEFAULT now());
        CREATE TABLE language (language_id integer PRIMARY KEY, name character(20) NOT NULL, last_update timestamp NOT NULL DEFAULT now());
        CREATE TABLE film (film_id integer PRIMARY KEY, title varchar(128) NOT NULL, description text, release_year year, language_id integer NOT NULL,
          original_language_id integer, rental_duration smallint NOT NULL DEFAULT 3, rental_rate numeric(4,2) NOT NULL DEFAULT 4.99,
          length smallint, replacement_cost numeric(5,2) NOT NULL DEFAULT 19.99, rating mpaa_rating DEFAULT 'G', special_features text[],
          last_update timestamp NOT NULL DEFAULT now());
        CREATE TABLE film_actor (actor_id integer NOT NULL, film_id integer NOT NULL, last_update timestamp NOT NULL DEFAULT now(), PRIMARY KEY (actor_id, film_id));
        CREATE TABLE film_category (film_id integer NOT NULL, category_id integer NOT NULL, last_update timestamp NOT NULL DEFAULT now(), PRIMARY KEY (film_id, category_id));
        CREATE TABLE film_text (film_id integer PRIMARY KEY, title varchar(255) NOT NULL, description text);
        CREATE TABLE store (store_id integer PRIMARY KEY, manager_staff_id integer NOT NULL, address_id integer NOT NULL, last_update timestamp NOT NULL DEFAULT now());
        CREATE TABLE staff (staff_id integer PRIMARY KEY, first_name varchar(45) NOT NULL, last_name varchar(45) NOT NULL, address_id integer NOT NULL,
          picture bytea, email varchar(50), store_id integer NOT NULL, active boolean NOT NULL DEFAULT true, username varchar(16) NOT NULL,
          password varchar(40), last_update timestamp NOT NULL DEFAULT now());
        CREATE TABLE customer (customer_id integer PRIMARY KEY, store_id integer NOT NULL, first_name varchar(45) NOT NULL, last_name varchar(45) NOT NULL,
          email varchar(50), address_id integer NOT NULL, active boolean NOT NULL DEFAULT true, create_date timestamp NOT NULL, last_update timestamp DEFAULT now());
        CREATE TABLE inventory (inventory_id integer PRIMARY KEY, film_id integer NOT NULL, store_id integer NOT NULL, last_update timestamp NOT NULL DEFAULT now());
        CREATE TABLE rental (rental_id integer PRIMARY KEY, rental_date timestamp NOT NULL, inventory_id integer NOT NULL, customer_id integer NOT NULL,
          return_date timestamp, staff_id integer NOT NULL, last_update timestamp NOT NULL DEFAULT now());
        CREATE TABLE payment (payment_id integer PRIMARY KEY, customer_id integer NOT NULL, staff_id integer NOT NULL, rental_id integer,
          amount numeric(5,2) NOT NULL, payment_date timestamp NOT NULL, last_update timestamp DEFAULT now());
        """;

    /// <summary>Tables in load order.</summary>
    public static readonly string[] Tables =
    [
        "actor", "country", "city", "address", "category", "language", "film", "film_actor", "film_category", "film_text",
        "store", "staff", "customer", "inventory", "rental", "payment",
    ];
}
