// Forms generated from a JSON Schema (a connector's config, secrets and action
// input schemas): strings, numbers with their bounds, enums as selects, booleans,
// arrays, nested objects, `format` hints, defaults, descriptions as help text, and
// secrets as password fields that are never filled in from anything. What a
// schema says that a form cannot show (oneOf, patternProperties…) is edited as
// JSON. The server's field-level errors (`details[].path`, a JSON Pointer) are
// shown at the field they name, or at the nearest enclosing one.

import { h } from "./dom.js";

let counter = 0;
/** A list item removed and rebuilt empty: neither a value nor the default. */
const EMPTY = Symbol("empty");

/** The type a field is edited as. */
function kind(schema) {
  let type = schema.type;
  if (Array.isArray(type)) type = type.find((t) => t !== "null") ?? "null";
  if (Array.isArray(schema.enum) && schema.enum.length > 0) return "enum";
  if (type === "object" && schema.properties) return "object";
  if (type === "array" && schema.items && !Array.isArray(schema.items)) return "array";
  if (["string", "integer", "number", "boolean"].includes(type)) return type;
  return "json";
}

const INPUT_TYPES = { uri: "url", email: "email", date: "date", "date-time": "text" };

/** A JSON Pointer's next segment. */
function child(path, name) {
  return `${path}/${String(name).replaceAll("~", "~0").replaceAll("/", "~1")}`;
}

export class SchemaForm {
  /**
   * @param schema the JSON Schema (an object's, usually)
   * @param options `name` (ids and the legend), `legend`, `secret` (password
   *   fields, nothing prefilled), `value` (the current value to start from)
   */
  constructor(schema, { name, legend, secret = false, value } = {}) {
    this.secret = secret;
    this.prefix = `${name || "form"}-${++counter}`;
    this.fields = new Map(); // JSON Pointer → { container, error, input }
    this.error = h("p", { class: "field-error", role: "alert", hidden: true });
    this.root = this.field(schema || {}, "", legend || "", true, secret ? undefined : value);
    this.element = h("div", { class: "schema-form", "data-form": name || "" }, this.error, this.root.el);
  }

  /** `{value, problems}`: the value the fields hold, and what the browser could
   * tell at once was not a value (a number field holding text, bad JSON). An
   * optional object nobody filled in is left out, even when its required fields
   * are (as empty strings) or its fields have defaults. */
  read() {
    const problems = [];
    const got = this.root.read(problems);
    return { value: got.present ? got.value : undefined, problems, filled: Boolean(got.filled) };
  }

  clearErrors() {
    this.error.hidden = true;
    this.error.textContent = "";
    for (const f of this.fields.values()) {
      f.error.hidden = true;
      f.error.textContent = "";
      f.container.classList.remove("invalid");
      if (f.input) f.input.removeAttribute("aria-invalid");
    }
  }

  /** Shows each `{path, message}` at its field; returns how many were shown. */
  showErrors(details) {
    let shown = 0;
    for (const d of details || []) {
      const path = d.path || "";
      let target = null;
      for (let p = path; ; p = p.slice(0, p.lastIndexOf("/"))) {
        target = this.fields.get(p);
        if (target || p === "") break;
      }
      const message = d.message || "is not valid";
      if (!target || target === this.fields.get("")) {
        this.error.hidden = false;
        this.error.textContent = [this.error.textContent, path ? `${path}: ${message}` : message]
          .filter(Boolean)
          .join(" ");
      } else {
        target.error.hidden = false;
        target.error.textContent = [target.error.textContent, message].filter(Boolean).join(" ");
        target.container.classList.add("invalid");
        if (target.input) target.input.setAttribute("aria-invalid", "true");
      }
      shown += 1;
    }
    const first = this.element.querySelector("[aria-invalid=true]");
    if (first) first.focus();
    return shown;
  }

  /** The field for `schema` at `path`: `{el, read(problems) → {present, value,
   * filled}}` — `present`: it goes into the value; `filled`: someone (or the
   * current value it started from) put something there, not only a default. */
  field(schema, path, label, required, initial) {
    const id = `${this.prefix}-f${++counter}`;
    const helpId = `${id}-help`;
    const errorId = `${id}-error`;
    const help = [];
    if (schema.description) help.push(schema.description);
    if (schema.default !== undefined && !this.secret) help.push(`Default: ${JSON.stringify(schema.default)}.`);
    const error = h("p", { class: "field-error", id: errorId, role: "alert", hidden: true });
    const describedBy = `${help.length ? helpId : ""} ${errorId}`.trim();
    const helpEl = help.length ? h("p", { class: "help", id: helpId }, help.join(" ")) : null;
    const title = schema.title || label;
    const given = initial !== undefined && initial !== EMPTY;
    const start = initial === EMPTY ? undefined : given ? initial : this.secret ? undefined : schema.default;
    const isDefault = (v) => !given && schema.default !== undefined && JSON.stringify(v) === JSON.stringify(schema.default);
    const k = kind(schema);

    if (k === "object") {
      const children = [];
      const requiredNames = new Set(schema.required || []);
      const legend = path === "" && !title ? null : h("legend", {}, title, requiredNames.size && path !== "" && required ? " *" : "");
      const el = h("fieldset", { class: "object", "data-path": path }, legend, helpEl);
      // Required properties first, in the order `required` lists them (a stored
      // schema's properties may come back in another order than the vendor wrote).
      const names = Object.keys(schema.properties);
      const ordered = [...(schema.required || []).filter((n) => names.includes(n)), ...names.filter((n) => !requiredNames.has(n))];
      for (const name of ordered) {
        const sub = schema.properties[name];
        const value = start && typeof start === "object" ? start[name] : undefined;
        const c = this.field(sub || {}, child(path, name), name, requiredNames.has(name), value);
        children.push([name, c]);
        el.append(c.el);
      }
      el.append(error);
      this.fields.set(path, { container: el, error, input: null });
      return {
        el,
        read: (problems) => {
          // Keys of the value it started from that the form does not show go back
          // as they were, unless the schema forbids other keys (then they are
          // dropped: a version that removed a property no longer takes it).
          const value = {};
          const open = schema.additionalProperties !== false;
          if (open && start && typeof start === "object" && !Array.isArray(start)) {
            for (const [k, v] of Object.entries(start)) if (!(k in schema.properties)) value[k] = v;
          }
          let filled = given;
          for (const [name, c] of children) {
            const got = c.read(problems);
            if (got.present) value[name] = got.value;
            filled = filled || got.filled;
          }
          return { present: required || filled, value, filled };
        },
      };
    }

    if (k === "array") {
      const items = schema.items;
      const list = h("ol", { class: "array-items" });
      const entries = [];
      const container = h("fieldset", { class: "array", "data-path": path }, h("legend", {}, title, required ? " *" : ""), helpEl, list);
      const add = (value) => {
        const index = entries.length;
        const c = this.field(items, child(path, index), `${title} ${index + 1}`, true, value);
        const entry = { c };
        const remove = h("button", {
          type: "button",
          class: "secondary",
          "aria-label": `Remove ${title} ${index + 1}`,
          onclick: () => {
            // The items after it move up, and their paths with them (the server's
            // errors name items by index): the list is built again from its values.
            const values = entries.filter((e) => e !== entry).map((e) => {
              const got = e.c.read([]);
              return got.present ? got.value : EMPTY;
            });
            for (const key of [...this.fields.keys()]) if (key.startsWith(`${path}/`)) this.fields.delete(key);
            entries.length = 0;
            list.replaceChildren();
            for (const v of values) add(v);
            addButton.focus();
          },
        }, "Remove");
        entry.li = h("li", {}, c.el, remove);
        entries.push(entry);
        list.append(entry.li);
      };
      const addButton = h("button", { type: "button", class: "secondary", onclick: () => add(undefined) }, `Add ${title}`);
      for (const v of Array.isArray(start) ? start : []) add(v);
      container.append(addButton, error);
      this.fields.set(path, { container, error, input: null });
      return {
        el: container,
        read: (problems) => {
          // An empty item is sent as null, so every item keeps its index (the
          // server's errors name items by index) and the server says what is wrong.
          const value = entries.map((e) => {
            const got = e.c.read(problems);
            return got.present ? got.value : null;
          });
          const filled = given || value.length > 0;
          return { present: filled || required, value, filled };
        },
      };
    }

    const labelEl = h("label", { for: id }, title, required ? " *" : "");
    let input;
    let read;
    if (k === "enum") {
      input = h("select", { id, name: path, "aria-describedby": describedBy, "aria-required": required ? "true" : null },
        required && start !== undefined ? null : h("option", { value: "" }, "(not set)"),
        schema.enum.map((v, i) => h("option", { value: String(i), selected: start !== undefined && JSON.stringify(v) === JSON.stringify(start) }, String(v))));
      read = () => {
        if (input.value === "") return { present: false, filled: false };
        const value = schema.enum[Number(input.value)];
        return { present: true, value, filled: !isDefault(value) };
      };
    } else if (k === "boolean") {
      input = h("input", { id, name: path, type: "checkbox", checked: Boolean(start), "aria-describedby": describedBy });
      let touched = false;
      input.addEventListener("change", () => (touched = true));
      read = () => ({ present: touched || required || start !== undefined, value: input.checked, filled: touched || given });
    } else if (k === "integer" || k === "number") {
      const min = schema.minimum ?? (schema.exclusiveMinimum !== undefined ? schema.exclusiveMinimum : undefined);
      input = h("input", {
        id, name: path, type: "number", inputmode: k === "integer" ? "numeric" : "decimal",
        min, max: schema.maximum ?? schema.exclusiveMaximum, step: k === "integer" ? (schema.multipleOf || 1) : "any",
        value: start !== undefined ? String(start) : "", "aria-describedby": describedBy,
        "aria-required": required ? "true" : null,
      });
      read = (problems) => {
        const text = input.value.trim();
        if (text === "") {
          if (input.validity && input.validity.badInput) problems.push({ path, message: "must be a number" });
          return { present: false, filled: false };
        }
        const n = Number(text);
        if (!Number.isFinite(n) || (k === "integer" && !Number.isInteger(n))) {
          problems.push({ path, message: k === "integer" ? "must be a whole number" : "must be a number" });
          return { present: false, filled: true };
        }
        return { present: true, value: n, filled: !isDefault(n) };
      };
    } else if (k === "string") {
      const long = !this.secret && !schema.format && !schema.pattern && (schema.maxLength === undefined || schema.maxLength > 512);
      const common = {
        id, name: path, "aria-describedby": describedBy, "aria-required": required ? "true" : null,
        minlength: schema.minLength, maxlength: schema.maxLength,
        placeholder: Array.isArray(schema.examples) && schema.examples.length ? String(schema.examples[0]) : null,
        spellcheck: "false", autocomplete: this.secret ? "new-password" : "off",
      };
      input = long
        ? h("textarea", { ...common, rows: 3, value: typeof start === "string" ? start : "" })
        : h("input", {
          ...common,
          type: this.secret ? "password" : INPUT_TYPES[schema.format] || "text",
          value: !this.secret && typeof start === "string" ? start : "",
        });
      // An emptied optional field is left out; a required one is sent empty, for
      // the server to say why that is not enough.
      read = () => {
        if (input.value === "") return required ? { present: true, value: "", filled: false } : { present: false, filled: false };
        return { present: true, value: input.value, filled: !isDefault(input.value) };
      };
    } else {
      input = h("textarea", {
        id, name: path, rows: 4, class: "json", spellcheck: "false", "aria-describedby": describedBy,
        value: start !== undefined ? JSON.stringify(start, null, 2) : "",
      });
      labelEl.append(" (JSON)");
      read = (problems) => {
        if (input.value.trim() === "") return { present: false, filled: false };
        try {
          const value = JSON.parse(input.value);
          return { present: true, value, filled: !isDefault(value) };
        } catch (e) {
          problems.push({ path, message: `is not JSON: ${e.message}` });
          return { present: false, filled: true };
        }
      };
    }
    const container = h("div", { class: `field field-${k}`, "data-path": path },
      k === "boolean" ? [input, labelEl] : [labelEl, input], helpEl, error);
    this.fields.set(path, { container, error, input });
    return { el: container, read };
  }
}
