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

void sort_by_field_order(std::vector<const pb::FieldDescriptor*>& fields) {
  std::sort(fields.begin(), fields.end(), [](const auto* a, const auto* b) { return a->index() < b->index(); });
}

// apply_property, except that a number too large for its field is kept for the end of plan_call: a
// usage error anywhere else on the command line must win over it (exit 2, before any server check).
void apply_or_defer(pb::Message& object, const pb::FieldDescriptor& field, const std::vector<std::string>& values,
                    std::optional<std::string>& out_of_range) {
  try {
    apply_property(object, field, values);
  } catch (const OutOfRange& e) {
    if (!out_of_range) out_of_range = e.what();
  }
}

// Applies every property flag to object, except those of the fields in `skip`; returns the fields
// given, in field order.
std::vector<const pb::FieldDescriptor*> apply_properties(const Invocation& invocation, pb::Message& object,
                                                         std::optional<std::string>& out_of_range,
                                                         const std::vector<const pb::FieldDescriptor*>& skip = {}) {
  std::vector<const pb::FieldDescriptor*> given;
  for (const auto& [option, values] : invocation.given) {
    if (option->role != OptionRole::Property) continue;
    if (std::find(skip.begin(), skip.end(), option->field) != skip.end()) continue;
    apply_or_defer(object, *option->field, values, out_of_range);
    given.push_back(option->field);
  }
  sort_by_field_order(given);
  return given;
}

bool is_list_edit_text(const std::string& value) { return trim(value).starts_with("@{"); }

// set-*: --add-X, --remove-X and "@{Add=...;Remove=...}" values of list flags, as the request's
// list_edits (one per property). Returns the fields edited, in field order.
std::vector<const pb::FieldDescriptor*> apply_list_edits(const Invocation& invocation, pb::Message& request) {
  std::vector<const pb::FieldDescriptor*> fields;
  std::vector<ListEditText> edits;
  const auto edit_of = [&](const pb::FieldDescriptor* field) -> ListEditText& {
    const auto at = std::find(fields.begin(), fields.end(), field);
    if (at != fields.end()) return edits[static_cast<std::size_t>(at - fields.begin())];
    fields.push_back(field);
    return edits.emplace_back();
  };
  for (const auto& [option, values] : invocation.given) {
    const auto* field = option->field;
    if (option->role == OptionRole::ListAdd || option->role == OptionRole::ListRemove) {
      auto& entries = option->role == OptionRole::ListAdd ? edit_of(field).add : edit_of(field).remove;
      for (const auto& value : values) {
        for (auto& piece : split_list(value)) entries.push_back(std::move(piece));
      }
    } else if (option->role == OptionRole::Property && field->is_repeated() &&
               std::any_of(values.begin(), values.end(), is_list_edit_text)) {
      if (!std::all_of(values.begin(), values.end(), is_list_edit_text)) {
        throw UsageError(exchange_name(*field) + " is given both a new list and @{Add=...;Remove=...}: give one");
      }
      for (const auto& value : values) {
        const auto parsed = *parse_list_edit(value, exchange_name(*field));
        auto& edit = edit_of(field);
        edit.add.insert(edit.add.end(), parsed.add.begin(), parsed.add.end());
        edit.remove.insert(edit.remove.end(), parsed.remove.begin(), parsed.remove.end());
      }
    }
  }
  for (std::size_t i = 0; i < fields.size(); ++i) {
    if (edits[i].add.empty() && edits[i].remove.empty()) {
      throw UsageError("--add-" + kebab_name(*fields[i]) + "/--remove-" + kebab_name(*fields[i]) + ": no entry given");
    }
    auto* edit = dynamic_cast<v1::ListEdit*>(
        request.GetReflection()->AddMessage(&request, &field_named(*request.GetDescriptor(), "list_edits")));
    edit->set_property(fields[i]->name());
    for (const auto& entry : edits[i].add) edit->add_add(entry);
    for (const auto& entry : edits[i].remove) edit->add_remove(entry);
  }
  sort_by_field_order(fields);
  return fields;
}

// --what-if: the request's what_if field; --confirm: the plan's confirmation.
void apply_what_if_and_confirm(const Invocation& invocation, Plan& plan) {
  if (has(invocation, OptionRole::WhatIf)) {
    const auto& values = *values_of(invocation, OptionRole::WhatIf);
    plan.what_if = std::any_of(values.begin(), values.end(),
                               [](const std::string& v) { return parse_bool(v, "--what-if"); });
    if (plan.what_if) {
      auto& request = *plan.request;
      request.GetReflection()->SetBool(&request, &field_named(*request.GetDescriptor(), "what_if"), true);
    }
  }
  if (const auto confirm = single_value(invocation, OptionRole::Confirm, "--confirm")) {
    plan.confirmation = parse_bool(*confirm, "--confirm") ? Confirmation::Always : Confirmation::Never;
  }
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

// The flags that are fields of the request (--sender, get-message --queue, remove-message --with-ndr).
void apply_request_flags(const Invocation& invocation, pb::Message& request, std::optional<std::string>& out_of_range) {
  for (const auto& [option, values] : invocation.given) {
    if (option->role == OptionRole::Filter) apply_or_defer(request, *option->field, values, out_of_range);
  }
}

// A query's one positional identity (get-sourcereputation 192.0.2.0/24) goes to the request's identity
// field, like --identity; both at once, or several, is a usage error.
void plan_query_identity(const Invocation& invocation, pb::Message& request, const pb::FieldDescriptor& field) {
  const auto& positionals = invocation.positionals;
  const std::string& command = invocation.command->name;
  if (positionals.size() > 1) {
    throw UsageError(command + " takes one identity (an address, a prefix or a glob), not " +
                     std::to_string(positionals.size()));
  }
  if (positionals.empty()) return;
  for (const auto& [option, values] : invocation.given) {
    if (option->role == OptionRole::Filter && option->field == &field) {
      throw UsageError(command + ": the identity is given twice ('" + positionals.front() + "' and --" +
                       kebab_name(field) + "); give one");
    }
  }
  request.GetReflection()->SetString(&request, &field, positionals.front());
}

// clear-*: exactly one identity, positional or --identity.
void plan_clear(const Invocation& invocation, Plan& plan) {
  const auto identities = given_identities(invocation);
  const std::string& command = invocation.command->name;
  if (identities.size() != 1 || identities.front() == "-") {
    throw UsageError(command + " needs one identity: an address (192.0.2.7), a prefix (192.0.2.0/24), a glob "
                               "(192.0.2.*) or * for every source" +
                     (identities.size() > 1 ? ", not " + std::to_string(identities.size()) : std::string()));
  }
  auto& request = *plan.request;
  request.GetReflection()->SetString(&request, &field_named(*request.GetDescriptor(), "identity"),
                                     std::string(trim(identities.front())));
}

void plan_get(const Invocation& invocation, std::istream& input, Plan& plan, std::optional<std::string>& out_of_range) {
  const ObjectKind& kind = *invocation.command->kind;
  if (kind.query_identity_field != nullptr) {
    plan_query_identity(invocation, *plan.request, *kind.query_identity_field);
  } else if (kind.singleton || kind.query) {
    refuse_positionals(invocation);
  } else {
    set_identities(*plan.request, identities_from(invocation, input, false));
  }
  apply_request_flags(invocation, *plan.request, out_of_range);
  if (const auto format = single_value(invocation, OptionRole::Format, "--format")) {
    plan.output.format = parse_format(*format);
  }
  if (plan.output.format == OutputFormat::Name && (kind.singleton || kind.query)) {
    const std::string why = kind.query_identity_field != nullptr ? " (use --select " + kind.default_columns.front()->json_name() + ")"
                            : kind.query                         ? " (events have no identity)"
                                                                 : " (there is one " + kind.noun + ")";
    throw UsageError("--format name is not available for " + invocation.command->name + why +
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

void plan_new(const Invocation& invocation, std::istream& input, const PasswordPrompt& prompt, Plan& plan,
              std::optional<std::string>& out_of_range) {
  const ObjectKind& kind = *invocation.command->kind;
  const std::string& command = invocation.command->name;
  refuse_stdin_conflict(invocation);
  for (const auto& [option, values] : invocation.given) {
    if (option->role == OptionRole::Property && option->field->is_repeated() &&
        std::any_of(values.begin(), values.end(), is_list_edit_text)) {
      throw UsageError(command + " makes a new " + kind.noun + ": there is no " + exchange_name(*option->field) +
                       " to edit with @{Add=...;Remove=...}; give the list itself");
    }
  }
  auto& request = *plan.request;
  const auto* object_field = field_of_type(*request.GetDescriptor(), kind.message->full_name());
  auto& object = *request.GetReflection()->MutableMessage(&request, object_field);
  auto given = apply_properties(invocation, object, out_of_range);

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

void plan_set(const Invocation& invocation, std::istream& input, const PasswordPrompt& prompt, Plan& plan,
              std::optional<std::string>& out_of_range) {
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
  const auto edited = apply_list_edits(invocation, request);
  for (const auto& [option, occurrences] : invocation.given) {
    const bool new_list = option->role == OptionRole::Property &&
                          !std::all_of(occurrences.begin(), occurrences.end(), is_list_edit_text);
    if (new_list && std::find(edited.begin(), edited.end(), option->field) != edited.end()) {
      throw UsageError(exchange_name(*option->field) + " is given both a new list and entries to add or remove: give one");
    }
  }
  const auto given = apply_properties(invocation, values, out_of_range, edited);
  const bool password_given = has(invocation, OptionRole::PasswordStdin) ||
                              has(invocation, OptionRole::PasswordPrompt) || has(invocation, OptionRole::ClearPassword);
  if (given.empty() && edited.empty() && !password_given) {
    throw UsageError(invocation.command->name + ": nothing to set; give at least one property flag (see " +
                     invocation.command->name + " --help)");
  }
  plan.changed = given;
  plan.changed.insert(plan.changed.end(), edited.begin(), edited.end());
  sort_by_field_order(plan.changed);
  set_mask(request, given);
  if (kind.has_password) apply_password(invocation, request, input, prompt);
}

// test-route RECIPIENT [--authenticated true|false]: the address is checked by the server, which
// knows the rules RCPT TO applies.
void plan_route_test(const Invocation& invocation, Plan& plan) {
  const auto& positionals = invocation.positionals;
  if (positionals.size() != 1) {
    throw UsageError(invocation.command->name + " needs one RECIPIENT (local@domain, or postmaster), got " +
                     std::to_string(positionals.size()));
  }
  auto& request = *plan.request;
  const auto& descriptor = *request.GetDescriptor();
  request.GetReflection()->SetString(&request, &field_named(descriptor, "recipient"),
                                     std::string(trim(positionals.front())));
  if (const auto authenticated = single_value(invocation, OptionRole::Authenticated, "--authenticated")) {
    request.GetReflection()->SetBool(&request, &field_named(descriptor, "authenticated"),
                                     parse_bool(*authenticated, "--authenticated"));
  }
}

void plan_test(const Invocation& invocation, Plan& plan) {
  if (is_route_test(*invocation.command->kind)) return plan_route_test(invocation, plan);
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

// Like format list: Connector, MatchedRange (when one matched), Reason.
std::string render_test(const pb::Message& response) {
  // test-route: every property, in the proto's order, empty ones too, so that scripts find each line.
  if (response.GetDescriptor() == v1::TestRouteResponse::descriptor()) {
    return format_list({&response}, all_fields(*response.GetDescriptor()));
  }
  const auto& result = dynamic_cast<const v1::TestReceiveConnectorResponse&>(response);
  v1::TestReceiveConnectorResponse shown = result;
  const auto& descriptor = *shown.GetDescriptor();
  Properties properties{&field_named(descriptor, "connector")};
  if (result.matched()) {
    properties.push_back(&field_named(descriptor, "matched_range"));
  } else {
    shown.set_connector("(none)");
  }
  properties.push_back(&field_named(descriptor, "reason"));
  return format_list({&shown}, properties);
}

// The identity of an object as shown to the administrator, or the noun of a singleton.
std::string shown_identity(const ObjectKind& kind, const pb::Message& object) {
  if (kind.singleton || kind.shown_identity_field == nullptr) return "the " + kind.noun;
  std::string identity = object.GetReflection()->GetString(object, kind.shown_identity_field);
  return identity.empty() ? object.GetReflection()->GetString(object, kind.identity_field) : identity;
}

std::string render_what_if(const Plan& plan, const Objects& objects) {
  const ObjectKind& kind = *plan.command->kind;
  std::string out;
  for (const auto* object : objects) {
    if (!out.empty()) out += "\n";
    if (plan.command->verb == Verb::New) {
      out += "What if: would create " + kind.noun + " " + shown_identity(kind, *object) + "\n" +
             format_list({object}, all_fields(*kind.message));
    } else {
      out += "What if: would change " + shown_identity(kind, *object) + " to\n" + format_list({object}, plan.changed);
    }
  }
  return out;
}

std::string render_removal(const Plan& plan, const v1::RemoveResponse& response) {
  if (!plan.what_if) return {};
  std::string out;
  for (const auto& identity : response.removed()) out += "What if: would remove " + identity + "\n";
  for (const auto& binding : response.emptied_bindings()) {
    out += "What if: nothing would listen on " + binding + " any more (its last connector would go)\n";
  }
  return out;
}

std::string noun_count(std::size_t count, const ObjectKind& kind) {
  return std::to_string(count) + " " + kind.noun + " object" + (count == 1 ? "" : "s");
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
  std::optional<std::string> out_of_range;
  switch (invocation.command->verb) {
    case Verb::Get: plan_get(invocation, input, plan, out_of_range); break;
    case Verb::New: plan_new(invocation, input, prompt, plan, out_of_range); break;
    case Verb::Set: plan_set(invocation, input, prompt, plan, out_of_range); break;
    case Verb::Remove:
      set_identities(*plan.request, identities_from(invocation, input, true));
      apply_request_flags(invocation, *plan.request, out_of_range);
      break;
    case Verb::Retry:
    case Verb::Suspend:
    case Verb::Resume: set_identities(*plan.request, identities_from(invocation, input, true)); break;
    case Verb::Test: plan_test(invocation, plan); break;
    case Verb::Clear: plan_clear(invocation, plan); break;
  }
  apply_what_if_and_confirm(invocation, plan);
  refuse_invalid_utf8(*plan.request);
  if (out_of_range) throw OutOfRange(*out_of_range);
  return plan;
}

std::optional<std::string> removal_question(const Plan& plan, const v1::RemoveResponse& would_remove) {
  const bool several = would_remove.removed_size() > 1;
  const bool empties = would_remove.emptied_bindings_size() > 0;
  if (plan.confirmation == Confirmation::Never) return std::nullopt;
  if (plan.confirmation == Confirmation::WhenNeeded && !several && !empties) return std::nullopt;
  const ObjectKind& kind = *plan.command->kind;
  std::vector<std::string> identities(would_remove.removed().begin(), would_remove.removed().end());
  std::string question = "Remove " + noun_count(identities.size(), kind) + ": " + join(identities, ", ") + "?";
  if (empties) {
    std::vector<std::string> bindings(would_remove.emptied_bindings().begin(), would_remove.emptied_bindings().end());
    question += " Nothing would listen on " + join(bindings, ", ") + " any more.";
  }
  return question + " [y/N] ";
}

std::string confirmation_needed(const Plan& plan, const v1::RemoveResponse& would_remove) {
  const ObjectKind& kind = *plan.command->kind;
  std::string why = plan.command->name + " would remove " + noun_count(static_cast<std::size_t>(would_remove.removed_size()), kind);
  if (would_remove.emptied_bindings_size() > 0) {
    std::vector<std::string> bindings(would_remove.emptied_bindings().begin(), would_remove.emptied_bindings().end());
    why += " and leave nothing listening on " + join(bindings, ", ");
  }
  return why + "; nothing was removed: standard input is not a terminal to ask on. Add --confirm:$false (or "
               "--confirm=false) to remove without asking, or --what-if to see what would go";
}

namespace {

std::string clear_identity(const Plan& plan) {
  return plan.request->GetReflection()->GetString(*plan.request,
                                                  &field_named(*plan.request->GetDescriptor(), "identity"));
}

// A prefix or a glob may name any number of sources; an address names one.
bool may_name_many(const std::string& identity) { return identity.find_first_of("*?/") != std::string::npos; }

}  // namespace

std::optional<std::string> clearing_question(const Plan& plan) {
  const std::string& identity = clear_identity(plan);
  if (plan.confirmation == Confirmation::Never) return std::nullopt;
  if (plan.confirmation == Confirmation::WhenNeeded && !may_name_many(identity)) return std::nullopt;
  return "Forget every " + plan.command->kind->noun + " record matching " + identity +
         " (they start clean at once)? [y/N] ";
}

std::string clearing_needs_confirmation(const Plan& plan) {
  return plan.command->name + " " + clear_identity(plan) +
         " may forget many sources; nothing was cleared: standard input is not a terminal to ask on. Add "
         "--confirm:$false (or --confirm=false) to clear without asking";
}

std::string render_response(const Plan& plan, const pb::Message& response) {
  const ObjectKind& kind = *plan.command->kind;
  switch (plan.command->verb) {
    case Verb::Clear: {
      const auto& cleared = dynamic_cast<const v1::ClearSourceReputationResponse&>(response).cleared();
      return "Cleared " + std::to_string(cleared) + " source record" + (cleared == 1 ? "" : "s") + " matching " +
             clear_identity(plan) + "\n";
    }
    case Verb::Set:
      return plan.what_if ? render_what_if(plan, objects_in(response, kind)) : std::string();
    case Verb::Remove: return render_removal(plan, dynamic_cast<const v1::RemoveResponse&>(response));
    case Verb::Test: return render_test(response);
    case Verb::Retry:
    case Verb::Suspend:
    case Verb::Resume: return {};  // like Exchange: silence is success
    case Verb::New:
      if (plan.what_if) return render_what_if(plan, objects_in(response, kind));
      break;
    case Verb::Get: break;
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
    if (!line.empty() && line.back() == '\r') line.pop_back();  // a CRLF file
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
