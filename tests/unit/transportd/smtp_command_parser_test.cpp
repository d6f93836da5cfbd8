// Command parser: verbs, MAIL FROM / RCPT TO paths and parameters, RFC 5321 mailbox syntax.
#include "transportd/smtp/command_parser.h"

#include <gtest/gtest.h>

#include <string>

namespace transport::smtp {
namespace {

TEST(SmtpCommandParser, Verbs) {
  struct Case {
    const char* line;
    Verb verb;
    const char* argument;
  };
  const Case cases[] = {
      {"EHLO client.example", Verb::ehlo, "client.example"},
      {"ehlo client.example", Verb::ehlo, "client.example"},
      {"HeLo  client.example  ", Verb::helo, "client.example"},
      {"MAIL FROM:<a@b.example>", Verb::mail, "FROM:<a@b.example>"},
      {"RCPT TO:<a@b.example>", Verb::rcpt, "TO:<a@b.example>"},
      {"DATA", Verb::data, ""},
      {"DATA ", Verb::data, ""},
      {"BDAT 100 LAST", Verb::bdat, "100 LAST"},
      {"RSET", Verb::rset, ""},
      {"NOOP hello", Verb::noop, "hello"},
      {"VRFY alice", Verb::vrfy, "alice"},
      {"EXPN staff", Verb::expn, "staff"},
      {"HELP", Verb::help, ""},
      {"quit", Verb::quit, ""},
      {"STARTTLS", Verb::starttls, ""},
      {"AUTH PLAIN", Verb::auth, "PLAIN"},
      {"MAILX FROM:<a@b>", Verb::unknown, "FROM:<a@b>"},
      {"", Verb::unknown, ""},
      {" QUIT", Verb::unknown, "QUIT"},
      {"DAT", Verb::unknown, ""},
  };
  for (const Case& c : cases) {
    const Command command = parse_command(c.line);
    EXPECT_EQ(command.verb, c.verb) << c.line;
    EXPECT_EQ(command.argument, c.argument) << c.line;
  }
}

TEST(SmtpCommandParser, Mailboxes) {
  struct Case {
    std::string mailbox;
    bool valid;
  };
  const Case cases[] = {
      {"alice@example.com", true},
      {"Alice.Smith+tag@Example.COM", true},
      {"!#$%&'*+-/=?^_`{|}~@example.com", true},
      {"\"john doe\"@example.com", true},
      {"\"a\\\"b\"@example.com", true},
      {"\"a@b\"@example.com", true},
      {"\"\"@example.com", true},
      {"a@[192.0.2.1]", true},
      {"a@[IPv6:2001:db8::1]", true},
      {"a@[ipv6:::1]", true},
      {"a@localhost", true},
      {"a@x-y.example", true},
      {"a@123.example", true},
      {std::string(64, 'l') + "@example.com", true},
      {std::string(65, 'l') + "@example.com", false},
      {std::string(300, 'l') + "@example.com", false},
      {"a@" + std::string(63, 'd') + ".example", true},
      {"a@" + std::string(64, 'd') + ".example", false},
      {"a@" + std::string(63, 'd') + "." + std::string(63, 'd') + "." + std::string(63, 'd') + "." +
           std::string(63, 'd'),
       true},  // 255 octets
      {"a@" + std::string(63, 'd') + "." + std::string(63, 'd') + "." + std::string(63, 'd') + "." +
           std::string(63, 'd') + "x",
       false},  // 256
      {"alice", false},
      {"@example.com", false},
      {"alice@", false},
      {"a..b@example.com", false},
      {".a@example.com", false},
      {"a.@example.com", false},
      {"a b@example.com", false},
      {"a@b@example.com", false},
      {"a@exa_mple.com", false},
      {"a@-example.com", false},
      {"a@example-.com", false},
      {"a@example.com.", false},
      {"a@.example.com", false},
      {"a@example..com", false},
      {"a@[300.1.1.1]", false},
      {"a@[1.2.3]", false},
      {"a@[1.2.3.4.5]", false},
      {"a@[0001.2.3.4]", false},
      {"a@[IPv6:1.2.3.4]", false},
      {"a@[IPv6:zz::1]", false},
      {"a@[x-tag:stuff]", false},
      {"a@[]", false},
      {"\"unterminated@example.com", false},
      {"\"tab\there\"@example.com", false},
      {"caf\xc3\xa9@example.com", false},
      {"a@ex\xc3\xa4mple.com", false},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(is_valid_mailbox(c.mailbox), c.valid) << c.mailbox;
  }
}

TEST(SmtpCommandParser, Paths) {
  struct Case {
    const char* argument;
    PathError error;
    const char* address;
    std::size_t parameters;
  };
  const Case cases[] = {
      {"FROM:<alice@example.com>", PathError::none, "alice@example.com", 0},
      {"from:<alice@example.com>", PathError::none, "alice@example.com", 0},
      {"FROM: <alice@example.com>", PathError::none, "alice@example.com", 0},
      {"FROM:<>", PathError::none, "", 0},
      {"FROM:<@relay.example,@b.example:alice@example.com>", PathError::none, "alice@example.com", 0},
      {"FROM:<@relay.example:alice@example.com>", PathError::none, "alice@example.com", 0},
      {"FROM:<\"x>y\"@example.com>", PathError::none, "\"x>y\"@example.com", 0},
      {"FROM:<alice@example.com> SIZE=100 BODY=8BITMIME", PathError::none, "alice@example.com", 2},
      {"FROM:<alice@example.com>  SIZE=100", PathError::none, "alice@example.com", 1},
      {"FROM:<alice@example.com> SMTPUTF8", PathError::none, "alice@example.com", 1},
      {"FROM:alice@example.com", PathError::missing_brackets, "", 0},
      {"FROM:<alice@example.com", PathError::missing_brackets, "", 0},
      {"FROM:<alice@example.com>SIZE=1", PathError::missing_brackets, "", 0},
      {"FROM:", PathError::missing_brackets, "", 0},
      {"alice@example.com", PathError::missing_keyword, "", 0},
      {"", PathError::missing_keyword, "", 0},
      {"TO:<alice@example.com>", PathError::missing_keyword, "", 0},
      {"FROM:<alice>", PathError::bad_address, "", 0},
      {"FROM:<@relay.example>", PathError::bad_address, "", 0},
      {"FROM:<@relay.example,:alice@example.com>", PathError::bad_address, "", 0},
      {"FROM:<@bad_domain:alice@example.com>", PathError::bad_address, "", 0},
      {"FROM:<alice@example.com> SIZE=", PathError::bad_parameters, "", 0},
      {"FROM:<alice@example.com> =1", PathError::bad_parameters, "", 0},
      {"FROM:<alice@example.com> -X=1", PathError::bad_parameters, "", 0},
      {"FROM:<alice@example.com> X_Y=1", PathError::bad_parameters, "", 0},
      {"FROM:<alice@example.com> X=a=b", PathError::bad_parameters, "", 0},
  };
  for (const Case& c : cases) {
    const PathArgument path = parse_mail_from(c.argument);
    EXPECT_EQ(path.error, c.error) << c.argument;
    if (c.error == PathError::none) {
      EXPECT_EQ(path.address, c.address) << c.argument;
      EXPECT_EQ(path.null_path, std::string_view(c.address).empty()) << c.argument;
      EXPECT_EQ(path.parameters.size(), c.parameters) << c.argument;
    }
  }

  const std::string long_local = "FROM:<" + std::string(300, 'x') + "@example.com>";
  EXPECT_EQ(parse_mail_from(long_local).error, PathError::local_part_too_long);

  const PathArgument rcpt = parse_rcpt_to("to:<bob@example.com> NOTIFY=NEVER");
  EXPECT_EQ(rcpt.error, PathError::none);
  EXPECT_EQ(rcpt.address, "bob@example.com");
  ASSERT_EQ(rcpt.parameters.size(), 1u);
  EXPECT_EQ(rcpt.parameters[0].keyword, "NOTIFY");
  EXPECT_EQ(rcpt.parameters[0].value, "NEVER");
  EXPECT_TRUE(rcpt.parameters[0].has_value);
  EXPECT_EQ(parse_rcpt_to("FROM:<bob@example.com>").error, PathError::missing_keyword);

  const PathArgument flag = parse_mail_from("FROM:<> SMTPUTF8");
  ASSERT_EQ(flag.parameters.size(), 1u);
  EXPECT_FALSE(flag.parameters[0].has_value);
  EXPECT_TRUE(flag.null_path);
}

TEST(SmtpCommandParser, Decimal) {
  struct Case {
    const char* text;
    bool ok;
    std::uint64_t value;
  };
  const Case cases[] = {
      {"0", true, 0},
      {"1048576", true, 1048576},
      {"007", true, 7},
      {"18446744073709551615", true, UINT64_MAX},
      {"18446744073709551616", false, 0},
      {"123456789012345678901", false, 0},
      {"", false, 0},
      {"-1", false, 0},
      {"+1", false, 0},
      {"1k", false, 0},
      {" 1", false, 0},
  };
  for (const Case& c : cases) {
    std::uint64_t value = 42;
    EXPECT_EQ(parse_decimal(c.text, value), c.ok) << c.text;
    if (c.ok) {
      EXPECT_EQ(value, c.value) << c.text;
    }
  }
}

}  // namespace
}  // namespace transport::smtp
