// A private PostgreSQL cluster for tests: initdb in a temporary directory, the server on a free loopback
// port with its socket in that directory (never the system cluster's), stopped and removed at the end.
// As root, the server runs as the `postgres` user (it refuses root), through runuser.
#pragma once

#include <gtest/gtest.h>
#include <libpq-fe.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <stdexcept>
#include <string>

#include "tests/unit/support/free_port.h"

namespace transport::test {

class PostgresCluster {
 public:
  static constexpr const char* kBin = "/usr/lib/postgresql/15/bin";

  PostgresCluster() {
    char pattern[] = "/tmp/transportd-pg-XXXXXX";
    if (::mkdtemp(pattern) == nullptr) throw std::runtime_error("mkdtemp failed");
    dir_ = pattern;
    port_ = free_loopback_port();
    if (::geteuid() == 0) {
      as_user_ = "runuser -u postgres -- ";
      run("chown postgres " + dir_.string());
    }
    run(as_user_ + kBin + "/initdb -D " + (dir_ / "data").string() +
        " -A trust -U transportd --no-sync -E UTF8 --locale=C.UTF-8 > " + (dir_ / "initdb.log").string() + " 2>&1");
    start();
  }
  ~PostgresCluster() {
    stop();
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }
  PostgresCluster(const PostgresCluster&) = delete;
  PostgresCluster& operator=(const PostgresCluster&) = delete;

  // fsync off: the tests test our code, not PostgreSQL's durability.
  void start() {
    run(as_user_ + kBin + "/pg_ctl -D " + (dir_ / "data").string() + " -w -t 30 -l " + (dir_ / "server.log").string() +
        " -o \"-p " + std::to_string(port_) + " -k " + dir_.string() +
        " -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200\" start > /dev/null");
    running_ = true;
  }
  void stop() {
    if (!running_) return;
    running_ = false;
    std::system((as_user_ + kBin + "/pg_ctl -D " + (dir_ / "data").string() + " -m fast -w stop > /dev/null 2>&1").c_str());
  }

  int port() const { return port_; }

  // A new, empty database; its connection string.
  std::string new_database(const std::string& name) {
    PGconn* admin = PQconnectdb(conninfo("postgres").c_str());
    PGresult* r = PQexec(admin, ("CREATE DATABASE " + name).c_str());
    const bool ok = PQresultStatus(r) == PGRES_COMMAND_OK;
    const std::string error = PQerrorMessage(admin);
    PQclear(r);
    PQfinish(admin);
    if (!ok) throw std::runtime_error("CREATE DATABASE " + name + ": " + error);
    return conninfo(name);
  }

  std::string conninfo(const std::string& database) const {
    return "postgresql://transportd@127.0.0.1:" + std::to_string(port_) + "/" + database + "?connect_timeout=5";
  }

 private:
  void run(const std::string& command) {
    if (std::system(command.c_str()) != 0) throw std::runtime_error("failed: " + command);
  }

  std::filesystem::path dir_;
  int port_ = 0;
  std::string as_user_;
  bool running_ = false;
};

}  // namespace transport::test
