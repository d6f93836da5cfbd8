// adminctl: command line -> request (by reflection over the request message), response -> output.
#include "adminctl/invocation.h"

#include <algorithm>

#include "adminctl/properties.h"
#include "adminctl/text.h"
#include "adminctl/usage_error.h"
#include "adminctl/usage_presets.h"
#include "adminctl/value_conversion.h"

namespace adminctl {

namespace pb = google::protobuf;
namespace v1 = transport::admin::v1;

namespace {

const std::vector<std::string>* values_of(const Invocation& invocation, OptionRole role) {
  for (const auto& [option, values] : invocation.given) {
    if (option->role == role) return &values;
  }
  return nullptr;
}

bool has(const Invocation& invocation, OptionRole role) { return values_of(invocation, role) != nullptr; }

std::optional<std::string> single_value(const Invocation& invocation, OptionRole role, const char* flag) {
  const auto* values = values_of(invocation, role);
  if (values == nullptr) return std::nullopt;
  if (values->size() != 1) throw UsageError(std::string(flag) + " is given " + std::to_string(values->size()) +
                                            " times; give it once");
  return values->front();
}

std::unique_ptr<pb::Message> new_message(const pb::Descriptor& type) {
  return std::unique_ptr<pb::Message>(pb::MessageFactory::generated_factory()->GetPrototype(&type)->New());
}

// The request's fields are found by type or name; a mismatch with the proto is a bug in this file.
const pb::FieldDescriptor* field_of_type(const pb::Descriptor& container, const std::string& type_name) {
  for (int i = 0; i < container.field_count(); ++i) {
    const auto* field = container.field(i);
    if (field->message_type() != nullptr && field->message_type()->full_name() == type_name) return field;
  }
  throw std::logic_error(container.full_name() + " has no field of type " + type_name);
}

const pb::FieldDescriptor& field_named(const pb::Descriptor& container, const char* name) {
  const auto* field = container.FindFieldByName(name);
  if (field == nullptr) throw std::logic_error(container.full_name() + " has no field " + name);
  return *field;
}

// Positional and --identity identities.
std::vector<std::string> given_identities(const Invocation& invocation) {
  std::vector<std::string> identities = invocation.positionals;
  if (const auto* flagged = values_of(invocation, OptionRole::Identity)) {
    identities.insert(identities.end(), flagged->begin(), flagged->end());
  }
  return identities;
}

// The given identities, or those read from input for a lone "-".
std::vector<std::string> identities_from(const Invocation& invocation, std::istream& input, bool required) {
  const auto identities = given_identities(invocation);
  const std::string& command = invocation.command->name;
  if (std::find(identities.begin(), identities.end(), "-") != identities.end()) {
    if (identities.size() != 1) {
      throw UsageError("'-' (read identities from standard input) must be the only identity given");
    }
    auto from_input = read_identity_lines(input);
    if (from_input.empty()) throw UsageError(command + ": no identities on standard input");
    return from_input;
  }
  if (required && identities.empty()) {
    throw UsageError(command + " needs at least one identity: a name, a pattern such as '*', or - to read "
                               "them from standard input");
  }
  return identities;
}

void set_identities(pb::Message& request, const std::vector<std::string>& identities) {
  const auto& field = field_named(*request.GetDescriptor(), "identities");
  for (const auto& identity : identities) request.GetReflection()->AddString(&request, &field, identity);
}

// Applies every property flag to object; returns the fields given, in field order.
std::vector<const pb::FieldDescriptor*> apply_properties(const Invocation& invocation, pb::Message& object) {
  std::vector<const pb::FieldDescriptor*> given;
  for (const auto& [option, values] : invocation.given) {
    if (option->role != OptionRole::Property) continue;
    apply_property(object, *option->field, values);
    given.push_back(option->field);
  }
  std::sort(given.begin(), given.end(),
            [](const auto* a, const auto* b) { return a->index() < b->index(); });
  return given;
}

void set_mask(pb::Message& request, const std::vector<const pb::FieldDescriptor*>& fields) {
  const auto* mask_field = field_of_type(*request.GetDescriptor(), "google.protobuf.FieldMask");
  auto* mask = request.GetReflection()->MutableMessage(&request, mask_field);
  const auto& paths = field_named(*mask->GetDescriptor(), "paths");
  for (const auto* field : fields) mask->GetReflection()->AddString(mask, &paths, field->name());
}

// --password-stdin / --password-prompt / --clear-password -> the request's password field.
void apply_password(const Invocation& invocation, pb::Message& request, std::istream& input,
                    const PasswordPrompt& prompt) {
  const bool from_stdin = has(invocation, OptionRole::PasswordStdin);
  const bool from_prompt = has(invocation, OptionRole::PasswordPrompt);
  const bool clear = has(invocation, OptionRole::ClearPassword);
  if (from_stdin + from_prompt + clear > 1) {
    throw UsageError("give only one of --password-stdin, --password-prompt and --clear-password");
  }
  std::string password;
  if (from_stdin) {
    const auto line = read_password_line(input);
    if (!line || line->empty()) {
      throw UsageError(std::string("--password-stdin: no password on standard input") +
                       (invocation.command->verb == Verb::Set ? " (to remove a password use --clear-password)" : ""));
    }
    password = *line;
  } else if (from_prompt) {
    password = prompt();
    if (password.empty()) throw UsageError("--password-prompt: the password is empty");
  } else if (!clear) {
    return;
  }
  request.GetReflection()->SetString(&request, &field_named(*request.GetDescriptor(), "password"), password);
}

void refuse_positionals(const Invocation& invocation) {
  if (!invocation.positionals.empty()) {
    throw UsageError(invocation.command->name + " takes no identities (got '" + invocation.positionals.front() + "')");
  }
}

void refuse_stdin_conflict(const Invocation& invocation) {
  const auto identities = given_identities(invocation);
  if (has(invocation, OptionRole::PasswordStdin) &&
      std::find(identities.begin(), identities.end(), "-") != identities.end()) {
    throw UsageError("'-' and --password-stdin both read standard input; give the identities as arguments");
  }
}

void plan_get(const Invocation& invocation, std::istream& input, Plan& plan) {
  const ObjectKind& kind = *invocation.command->kind;
  if (kind.singleton || kind.query) {
    refuse_positionals(invocation);
  } else {
    set_identities(*plan.request, identities_from(invocation, input, false));
  }
  for (const auto& [option, values] : invocation.given) {
    if (option->role == OptionRole::Filter) apply_property(*plan.request, *option->field, values);
  }
  if (const auto format = single_value(invocation, OptionRole::Format, "--format")) {
    plan.output.format = parse_format(*format);
  }
  if (plan.output.format == OutputFormat::Name && (kind.singleton || kind.query)) {
    throw UsageError("--format name is not available for " + invocation.command->name +
                     (kind.query ? " (events have no identity)" : " (there is one " + kind.noun + ")") +
                     "; use table, list or json");
  }
  if (const auto* select = values_of(invocation, OptionRole::Select)) {
    plan.output.properties = resolve_select(*kind.message, *select);
  } else if (plan.output.format == OutputFormat::Table) {
    plan.output.properties = kind.default_columns;
  } else {
    plan.output.properties = all_fields(*kind.message);
  }
}

void plan_new(const Invocation& invocation, std::istream& input, const PasswordPrompt& prompt, Plan& plan) {
  const ObjectKind& kind = *invocation.command->kind;
  const std::string& command = invocation.command->name;
  refuse_stdin_conflict(invocation);
  auto& request = *plan.request;
  const auto* object_field = field_of_type(*request.GetDescriptor(), kind.message->full_name());
  auto& object = *request.GetReflection()->MutableMessage(&request, object_field);
  auto given = apply_properties(invocation, object);

  const auto& identity = *kind.identity_field;
  const auto& positionals = invocation.positionals;
  if (positionals.size() > 1) {
    throw UsageError(command + " creates one " + kind.noun + ": give one " + exchange_name(identity) + ", not " +
                     std::to_string(positionals.size()));
  }
  if (positionals.size() == 1) {
    const std::string& name = positionals.front();
    if (name == "-") throw UsageError(command + " creates one " + kind.noun + ": '-' is not a " + exchange_name(identity));
    const bool flag_given = std::find(given.begin(), given.end(), &identity) != given.end();
    if (flag_given && object.GetReflection()->GetString(object, &identity) != name) {
      throw UsageError(command + ": " + exchange_name(identity) + " is given twice ('" + name + "' and --" +
                       kebab_name(identity) + " '" + object.GetReflection()->GetString(object, &identity) + "')");
    }
    object.GetReflection()->SetString(&object, &identity, name);
    if (!flag_given) {
      given.push_back(&identity);
      std::sort(given.begin(), given.end(), [](const auto* a, const auto* b) { return a->index() < b->index(); });
    }
  }

  if (const auto usage = single_value(invocation, OptionRole::Usage, "--usage")) {
    apply_usage_preset(find_usage_preset(*usage), object, given);
  }

  std::vector<std::string> missing;
  for (const auto* field : settable_fields(*kind.message)) {
    if (!property_info(*field).required() || std::find(given.begin(), given.end(), field) != given.end()) continue;
    missing.push_back(exchange_name(*field) + (field == &identity ? " (first argument or --" : " (--") +
                      kebab_name(*field) + ")");
  }
  if (!missing.empty()) throw UsageError(command + " needs " + join(missing, ", "));

  set_mask(request, given);
  if (kind.has_password) apply_password(invocation, request, input, prompt);
  plan.output.format = OutputFormat::List;
  plan.output.properties = all_fields(*kind.message);
}

void plan_set(const Invocation& invocation, std::istream& input, const PasswordPrompt& prompt, Plan& plan) {
  const ObjectKind& kind = *invocation.command->kind;
  auto& request = *plan.request;
  refuse_stdin_conflict(invocation);
  if (kind.singleton) {
    refuse_positionals(invocation);
  } else {
    set_identities(request, identities_from(invocation, input, true));
  }
  const auto* values_field = field_of_type(*request.GetDescriptor(), kind.message->full_name());
  auto& values = *request.GetReflection()->MutableMessage(&request, values_field);
  const auto given = apply_properties(invocation, values);
  const bool password_given = has(invocation, OptionRole::PasswordStdin) ||
                              has(invocation, OptionRole::PasswordPrompt) || has(invocation, OptionRole::ClearPassword);
  if (given.empty() && !password_given) {
    throw UsageError(invocation.command->name + ": nothing to set; give at least one property flag (see " +
                     invocation.command->name + " --help)");
  }
  set_mask(request, given);
  if (kind.has_password) apply_password(invocation, request, input, prompt);
}

void plan_test(const Invocation& invocation, Plan& plan) {
  refuse_positionals(invocation);
  const auto remote_ip = single_value(invocation, OptionRole::RemoteIp, "--remote-ip");
  const auto local = single_value(invocation, OptionRole::Local, "--local");
  if (!remote_ip || !local) {
    throw UsageError(invocation.command->name + " needs --remote-ip ADDRESS and --local IP:PORT");
  }
  auto& request = *plan.request;
  const auto& descriptor = *request.GetDescriptor();
  request.GetReflection()->SetString(&request, &field_named(descriptor, "remote_ip"), std::string(trim(*remote_ip)));
  request.GetReflection()->SetString(&request, &field_named(descriptor, "local_endpoint"), std::string(trim(*local)));
}

Objects objects_in(const pb::Message& response, const ObjectKind& kind) {
  if (response.GetDescriptor() == kind.message) return {&response};
  const auto* list_field = field_of_type(*response.GetDescriptor(), kind.message->full_name());
  const auto* reflection = response.GetReflection();
  Objects objects;
  for (int i = 0; i < reflection->FieldSize(response, list_field); ++i) {
    objects.push_back(&reflection->GetRepeatedMessage(response, list_field, i));
  }
  return objects;
}

std::string render_test(const pb::Message& response) {
  const auto& result = dynamic_cast<const v1::TestReceiveConnectorResponse&>(response);
  if (!result.matched()) return "Connector : (none)\nReason : " + result.reason() + "\n";
  return "Connector : " + result.connector() + "\nMatchedRange : " + result.matched_range() +
         "\nReason : " + result.reason() + "\n";
}

std::string hex_byte(unsigned char byte) {
  static constexpr char kDigits[] = "0123456789abcdef";
  return {'0', 'x', kDigits[byte >> 4], kDigits[byte & 0xF]};
}

// Protobuf strings must be UTF-8; without this check the request would fail inside gRPC with an
// internal error instead of a message naming the property. Walks the request, nested messages too.
void refuse_invalid_utf8(const pb::Message& message) {
  const pb::Reflection& reflection = *message.GetReflection();
  std::vector<const pb::FieldDescriptor*> fields;
  reflection.ListFields(message, &fields);
  for (const pb::FieldDescriptor* field : fields) {
    const auto check = [field](const std::string& text) {
      const std::size_t offset = invalid_utf8_offset(text);
      if (offset == std::string_view::npos) return;
      const std::string name = field->name() == "identities" ? "an identity" : field->json_name();
      throw UsageError(name + " is not valid UTF-8 (byte " + hex_byte(static_cast<unsigned char>(text[offset])) +
                       " at offset " + std::to_string(offset) + "): transportd keeps text as UTF-8");
    };
    if (field->cpp_type() == pb::FieldDescriptor::CPPTYPE_STRING && field->type() == pb::FieldDescriptor::TYPE_STRING) {
      if (field->is_repeated()) {
        for (int i = 0; i < reflection.FieldSize(message, field); ++i) check(reflection.GetRepeatedString(message, field, i));
      } else {
        check(reflection.GetString(message, field));
      }
    } else if (field->cpp_type() == pb::FieldDescriptor::CPPTYPE_MESSAGE) {
      if (field->is_repeated()) {
        for (int i = 0; i < reflection.FieldSize(message, field); ++i) {
          refuse_invalid_utf8(reflection.GetRepeatedMessage(message, field, i));
        }
      } else {
        refuse_invalid_utf8(reflection.GetMessage(message, field));
      }
    }
  }
}

}  // namespace

Plan plan_call(const Invocation& invocation, std::istream& input, const PasswordPrompt& prompt) {
  Plan plan;
  plan.command = invocation.command;
  plan.request = new_message(*invocation.command->rpc->input_type());
  switch (invocation.command->verb) {
    case Verb::Get: plan_get(invocation, input, plan); break;
    case Verb::New: plan_new(invocation, input, prompt, plan); break;
    case Verb::Set: plan_set(invocation, input, prompt, plan); break;
    case Verb::Remove: set_identities(*plan.request, identities_from(invocation, input, true)); break;
    case Verb::Test: plan_test(invocation, plan); break;
  }
  refuse_invalid_utf8(*plan.request);
  return plan;
}

std::string render_response(const Plan& plan, const pb::Message& response) {
  const ObjectKind& kind = *plan.command->kind;
  switch (plan.command->verb) {
    case Verb::Set:
    case Verb::Remove: return {};
    case Verb::Test: return render_test(response);
    case Verb::Get:
    case Verb::New: break;
  }
  const Objects objects = objects_in(response, kind);
  const auto& properties = plan.output.properties;
  switch (plan.output.format) {
    case OutputFormat::Table: return format_table(objects, properties);
    case OutputFormat::List: return format_list(objects, properties);
    case OutputFormat::Json: return format_json(objects, properties, kind.singleton);
    case OutputFormat::Name: return format_names(objects, *kind.shown_identity_field, *kind.identity_field);
  }
  return {};
}

std::vector<std::string> read_identity_lines(std::istream& input) {
  std::vector<std::string> identities;
  std::string line;
  while (std::getline(input, line)) {
    const auto identity = trim(line);
    if (!identity.empty()) identities.emplace_back(identity);
  }
  return identities;
}

std::optional<std::string> read_password_line(std::istream& input) {
  std::string line;
  if (!std::getline(input, line) && line.empty()) return std::nullopt;
  if (!line.empty() && line.back() == '\r') line.pop_back();
  return line;
}

std::string server_target(const std::optional<std::string>& flag, const char* environment) {
  std::string target;
  if (flag) {
    target = std::string(trim(*flag));
    if (target.empty()) throw UsageError("--server needs a value such as unix:/var/lib/transportd/admin.sock");
  } else if (environment != nullptr && !trim(environment).empty()) {
    target = std::string(trim(environment));
  } else {
    target = kDefaultServer;
  }
  const bool bare_path = target.front() == '/' || target.front() == '.' || target.find(':') == std::string::npos;
  return bare_path ? "unix:" + target : target;
}

}  // namespace adminctl
