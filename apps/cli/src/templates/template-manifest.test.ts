import { describe, expect, it } from 'vitest';
import { parameterValueProblem, parseTemplateManifest } from './template-manifest.js';

const parse = (text: string) => parseTemplateManifest(text, 'metadata/spin-template.toml');

describe('spin-template.toml', () => {
  it('reads every field Spin defines', () => {
    const m = parse(`manifest_version = "1"
id = "t"
description = "d"
trigger_type = "http"
tags = ["HTTP", "http", "Rust"]
[new_application]
skip_files = ["a"]
[add_component]
skip_files = ["spin.toml"]
skip_parameters = ["p"]
[add_component.snippets]
component = "component.txt"
[add_component.conditions.c]
condition = { manifest_entry_exists = "application.trigger.redis" }
skip_snippets = ["application_trigger"]
[parameters]
p = { type = "string", prompt = "P", default = "x", pattern = "^x", allowed_values = ["x", "y"] }
[outputs]
o = { action = "create_dir", path = "{{ p }}", at = "manifest" }
`);
    expect(m.tags).toEqual(['http', 'rust']);
    expect(m.newApplication?.skipFiles).toEqual(['a']);
    expect(m.addComponent?.conditions[0]?.manifestEntryExists).toEqual(['application', 'trigger', 'redis']);
    expect(m.parameters[0]).toMatchObject({ id: 'p', prompt: 'P', defaultValue: 'x', allowedValues: ['x', 'y'] });
    expect(m.outputs).toEqual([{ id: 'o', path: '{{ p }}', at: 'manifest' }]);
  });

  it('defaults: new_application supported, add_component not; supported = false turns a variant off', () => {
    const m = parse('manifest_version = "1"\nid = "t"\n');
    expect(m.newApplication).toBeDefined();
    expect(m.addComponent).toBeUndefined();
    expect(parse('manifest_version = "1"\nid = "t"\n[new_application]\nsupported = false\n').newApplication).toBeUndefined();
  });

  it('refuses what Spin refuses, saying which field', () => {
    const bad = (text: string, message: RegExp) => expect(() => parse(text)).toThrow(expect.objectContaining({ code: 'CLI_TEMPLATE_INVALID', message: expect.stringMatching(message) }));
    bad('id = "t"', /missing field `manifest_version`/);
    bad('manifest_version = 1\nid = "t"', /unknown manifest_version 1/);
    bad('manifest_version = "1"\nid = "t"\ndescripton = "x"', /unknown field `descripton` \(did you mean `description`\?\)/);
    bad('manifest_version = "1"\nid = "t"\n[parameters]\np = { type = "number", prompt = "P" }', /Unrecognised data type 'number'/);
    bad('manifest_version = "1"\nid = "t"\n[parameters]\np = { type = "string" }', /missing field `parameters.p.prompt`/);
    bad('manifest_version = "1"\nid = "t"\n[[custom_filters]]\nname = "x"', /Custom filters are not supported/);
    bad('manifest_version = "1"\nid = "t"\n[add_component.conditions.c]\ncondition = { file_exists = "x" }', /unknown condition type/);
    bad('manifest_version = "1"\nid = "t"\n[parameters]\np = { type = "string", prompt = "P", pattern = "(" }', /not a valid regular expression/);
    bad('manifest_version = "1"\nid = "t"\n[outputs]\no = { action = "delete_dir", path = "x" }', /must be "create_dir"/);
  });

  it('checks values against pattern and allowed values with Spin\'s wording', () => {
    const [p] = parse('manifest_version = "1"\nid = "t"\n[parameters]\np = { type = "string", prompt = "P", pattern = "^/\\\\S*$", allowed_values = ["/a", "/b"] }').parameters;
    if (p === undefined) throw new Error('no parameter');
    expect(parameterValueProblem(p, '/a')).toBeUndefined();
    expect(parameterValueProblem(p, 'a')).toBe("Input 'a' does not match pattern '^\\/\\S*$'");
    expect(parameterValueProblem(p, '/c')).toBe("Input '/c' is not one of the allowed values (/a, /b)");
  });
});
