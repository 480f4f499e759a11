/**
 * Tests for lib/sse.ts against the rules of WHATWG HTML §9.2.5–9.2.6 and the numbered cases
 * 1–17 of shared/reference/llm-stream-formats.md §1. Every case runs through `parseSse`, through
 * `SseParserStream` (whole, split at every position into two chunks, and char by char) and
 * through `SseDecoderStream` (the same splits over the UTF-8 bytes).
 */

import assert from "node:assert/strict";
import {
  looksLikeSse,
  parseSse,
  SseDecoderStream,
  SseLineParser,
  SseParserStream,
} from "../lib/sse.ts";
import type { SseEvent } from "../lib/types.ts";

/** A complete `message` event with no ID and no retry, unless `extra` says otherwise. */
function ev(data: string, extra: Partial<SseEvent> = {}): SseEvent {
  return { type: "message", data, lastEventId: "", complete: true, ...extra };
}

/** One rule: its behaviour (the step name after the symbol) and [input, expected events]. */
interface Rule {
  behaviour: string;
  cases: [string, SseEvent[]][];
}

const RULES: Rule[] = [
  {
    behaviour: "removes exactly one leading space from a value (case 1)",
    cases: [
      ["data: a\n\n", [ev("a")]],
      ["data:a\n\n", [ev("a")]],
      ["data:  a\n\n", [ev(" a")]],
      ["data:\ta\n\n", [ev("\ta")]],
      ["data: a \n\n", [ev("a ")]],
    ],
  },
  {
    behaviour: "joins several data lines with \\n (case 2)",
    cases: [
      ["data: a\ndata: b\n\n", [ev("a\nb")]],
      ["data: a\ndata: b\ndata: c\n\n", [ev("a\nb\nc")]],
    ],
  },
  {
    behaviour: "ends lines at CRLF, LF and lone CR, also mixed (case 3)",
    cases: [
      ["data: a\r\ndata: b\r\n\r\n", [ev("a\nb")]],
      ["data: a\rdata: b\r\r", [ev("a\nb")]],
      ["data: a\r\ndata: b\rdata: c\n\r\n", [ev("a\nb\nc")]],
      ["data: a\n\rdata: b\r\n\n", [ev("a"), ev("b")]],
      ["data: a\r\r\ndata: b\r\n\r", [ev("a"), ev("b")]],
    ],
  },
  {
    behaviour: "counts CR followed by LF as one line end (case 4)",
    cases: [
      ["data: a\r\n\r\n", [ev("a")]],
      ["data: a\r\ndata: b\r\n\r\n", [ev("a\nb")]],
      ["data: a\r\n\r\n\r\n", [ev("a")]],
    ],
  },
  {
    behaviour: "ignores comment lines, the event still dispatches (case 5)",
    cases: [
      [": keepalive\ndata: a\n:\ndata: b\n\n", [ev("a\nb")]],
      ["data: a\n: comment\n\n", [ev("a")]],
      [": keepalive\n\n:\n\n", []],
      [":data: x\n\n", []],
    ],
  },
  {
    behaviour: "does not carry the event type over to the next event (case 6)",
    cases: [
      ["event: x\ndata: 1\n\ndata: 2\n\n", [ev("1", { type: "x" }), ev("2")]],
      ["event: x\n\ndata: 1\n\n", [ev("1")]],
      ["event:\ndata: 1\n\n", [ev("1")]],
      ["event: x\nevent: y\ndata: 1\n\n", [ev("1", { type: "y" })]],
      ["data: 1\nevent: x\n\n", [ev("1", { type: "x" })]],
    ],
  },
  {
    behaviour: "emits nothing for a block without data (case 7)",
    cases: [
      ["event: x\n\n", []],
      ["event: x\nretry: 5\n\n", []],
      ["event: x\nretry: 5\n\ndata: a\n\n", [ev("a")]],
    ],
  },
  {
    behaviour: "gives a data line without colon an empty value (case 8)",
    cases: [
      ["data\n\n", [ev("")]],
      ["data\ndata\n\n", [ev("\n")]],
      ["data:\n\n", [ev("")]],
      ["data: \n\n", [ev("")]],
      ["data:\ndata: a\n\n", [ev("\na")]],
    ],
  },
  {
    behaviour: "carries the last event ID over and ignores an ID containing NUL (case 9)",
    cases: [
      [
        "id: 7\ndata: a\n\ndata: b\n\nid\ndata: c\n\n",
        [ev("a", { lastEventId: "7" }), ev("b", { lastEventId: "7" }), ev("c")],
      ],
      [
        "id: 1\ndata: a\n\nid: 2\u00003\ndata: b\n\n",
        [ev("a", { lastEventId: "1" }), ev("b", { lastEventId: "1" })],
      ],
      ["id: 1\nid: \u0000\ndata: a\n\n", [ev("a", { lastEventId: "1" })]],
      ["id: 5\n\ndata: x\n\n", [ev("x", { lastEventId: "5" })]],
      ["data: x\nid: 9\n\n", [ev("x", { lastEventId: "9" })]],
      ["id:  7\ndata: a\n\n", [ev("a", { lastEventId: " 7" })]],
    ],
  },
  {
    behaviour: "accepts retry only when it is all ASCII digits (case 10)",
    cases: [
      ["retry: 1500\ndata: a\n\n", [ev("a", { retry: 1500 })]],
      ["retry:0\ndata: a\n\n", [ev("a", { retry: 0 })]],
      ["retry: 1.5s\ndata: a\n\n", [ev("a")]],
      ["retry: +5\ndata: a\n\n", [ev("a")]],
      ["retry: -1\ndata: a\n\n", [ev("a")]],
      ["retry: 1e3\ndata: a\n\n", [ev("a")]],
      ["retry:  15\ndata: a\n\n", [ev("a")]],
      ["retry: \u0661\u0662\ndata: a\n\n", [ev("a")]],
      ["retry:\ndata: a\n\n", [ev("a")]],
      ["retry: 10\nretry: x\ndata: a\n\n", [ev("a", { retry: 10 })]],
      ["retry: 10\ndata: a\n\ndata: b\n\n", [ev("a", { retry: 10 }), ev("b")]],
    ],
  },
  {
    behaviour: "ignores field names that differ in case or spacing, and unknown fields (case 11)",
    cases: [
      ["Data: x\ndata : y\nfoo: bar\n data: w\ndata: z\n\n", [ev("z")]],
      ["Data: x\n\n", []],
      ["DATA\n\ndatas: x\nda: y\ndata\t: z\n\n", []],
      ["Event: x\nID: 3\nRetry: 5\ndata: a\n\n", [ev("a")]],
      ["eventx: y\nidx: 1\nretry : 5\ndata: a\n\n", [ev("a")]],
    ],
  },
  {
    behaviour: "splits a line at the first colon only (case 12)",
    cases: [
      ['data: {"a":"b:c"}\n\n', [ev('{"a":"b:c"}')]],
      ["data:: x\n\n", [ev(": x")]],
      ["event: a:b\nid: 1:2\ndata: x\n\n", [ev("x", { type: "a:b", lastEventId: "1:2" })]],
    ],
  },
  {
    behaviour: "strips one BOM at the very start only (case 13)",
    cases: [
      ["\uFEFFdata: x\n\n", [ev("x")]],
      ["\uFEFF\uFEFFdata: x\n\n", []],
      ["data: a\n\n\uFEFFdata: b\n\n", [ev("a")]],
      ["data: \uFEFFx\n\n", [ev("\uFEFFx")]],
      ["\uFEFF\n\ndata: x\n\n", [ev("x")]],
      ["\uFEFF", []],
    ],
  },
  {
    behaviour: "reports a tail without its blank line as incomplete (case 14)",
    cases: [
      ["data: x", [ev("x", { complete: false })]],
      ["data: x\n", [ev("x", { complete: false })]],
      ["data: x\r", [ev("x", { complete: false })]],
      ["data: x\r\n", [ev("x", { complete: false })]],
      ["data: a\ndata: b", [ev("a\nb", { complete: false })]],
      ["data", [ev("", { complete: false })]],
      ["data: a\n\ndata: b", [ev("a"), ev("b", { complete: false })]],
      [
        "event: t\nid: 3\ndata: x\nretry: 9\n",
        [{ type: "t", data: "x", lastEventId: "3", retry: 9, complete: false }],
      ],
      ["data: x\n\nevent: y\ndata", [ev("x"), ev("", { type: "y", complete: false })]],
      ["event: x\n", []],
      ["event: x", []],
      ["data: x\n\nid: 9", [ev("x")]],
      [": comment", []],
      ["da", []],
    ],
  },
  {
    behaviour: "emits nothing for blank lines only or an empty body (case 15)",
    cases: [
      ["", []],
      ["\n\n\n\n", []],
      ["\r\n\r\n\r\r", []],
      ["data: a\n\n\n\n\ndata: b\n\n", [ev("a"), ev("b")]],
    ],
  },
  {
    behaviour: "keeps [DONE] and JSON data as plain strings (case 16)",
    cases: [
      ["data: [DONE]\n\n", [ev("[DONE]")]],
      ['data: {"x":1}\n\ndata: [DONE]\n\n', [ev('{"x":1}'), ev("[DONE]")]],
      ["data: {not json\n\n", [ev("{not json")]],
    ],
  },
  {
    behaviour: "keeps multi-byte characters whole (case 17)",
    cases: [
      ["data: é€😀\n\n", [ev("é€😀")]],
      ["data: 😀\ndata: 日本\n\n", [ev("😀\n日本")]],
      ["event: 日本\ndata: x\n\n", [ev("x", { type: "日本" })]],
    ],
  },
];

/** Every way the test splits `input`: whole, at each position into two chunks, one by one. */
function* splits<T extends string | Uint8Array>(input: T): Generator<T[]> {
  yield [input];
  for (let i = 0; i <= input.length; i++) {
    yield [input.slice(0, i) as T, input.slice(i) as T];
  }
  const units: T[] = [];
  for (let i = 0; i < input.length; i++) units.push(input.slice(i, i + 1) as T);
  yield units;
}

function runText(chunks: string[]): Promise<SseEvent[]> {
  return Array.fromAsync(ReadableStream.from(chunks).pipeThrough(new SseParserStream()));
}

function runBytes(chunks: Uint8Array[]): Promise<SseEvent[]> {
  return Array.fromAsync(ReadableStream.from(chunks).pipeThrough(new SseDecoderStream()));
}

const encode = (text: string) => new TextEncoder().encode(text);

Deno.test("parseSse", async (t) => {
  for (const rule of RULES) {
    await t.step(`parseSse ${rule.behaviour}`, () => {
      for (const [input, expected] of rule.cases) {
        assert.deepEqual(parseSse(input), expected, `input ${JSON.stringify(input)}`);
      }
    });
  }

  await t.step("parseSse handles many events in one body", () => {
    const body = Array.from({ length: 1000 }, (_, i) => `id: ${i}\ndata: ${i}\n\n`).join("");
    const events = parseSse(body);
    assert.equal(events.length, 1000);
    assert.deepEqual(events[999], ev("999", { lastEventId: "999" }));
  });
});

Deno.test("SseParserStream", async (t) => {
  for (const rule of RULES) {
    await t.step(`SseParserStream ${rule.behaviour}, under every chunk split`, async () => {
      for (const [input, expected] of rule.cases) {
        for (const chunks of splits(input)) {
          assert.deepEqual(await runText(chunks), expected, `chunks ${JSON.stringify(chunks)}`);
        }
      }
    });
  }

  await t.step("SseParserStream treats CR|LF split across chunks as one line end", async () => {
    assert.deepEqual(await runText(["data: a\r", "\ndata: b\r", "\n\r", "\n"]), [ev("a\nb")]);
    assert.deepEqual(
      await runText(["data: a\r", "", "\n", "data: b\r\n", "\r", "", "\n"]),
      [ev("a\nb")],
    );
    // CR then CR is a line end and a blank line; the LF after the second CR belongs to it.
    assert.deepEqual(await runText(["data: a\r", "\r", "\ndata: b\n\n"]), [ev("a"), ev("b")]);
  });

  await t.step("SseParserStream strips a BOM only at the start of the stream", async () => {
    assert.deepEqual(await runText(["", "\uFEFFdata: x\n\n"]), [ev("x")]);
    assert.deepEqual(await runText(["\uFEFF", "\uFEFFdata: x\n\n"]), []);
    assert.deepEqual(await runText(["data: a\n\n", "\uFEFFdata: b\n\n"]), [ev("a")]);
  });

  await t.step("SseParserStream emits an event as soon as its blank line arrives", async () => {
    const stream = new SseParserStream();
    const writer = stream.writable.getWriter();
    const reader = stream.readable.getReader();
    const first = reader.read();
    const writes = [writer.write("data: a\n\nda")];
    assert.deepEqual(await first, { done: false, value: ev("a") });
    const second = reader.read();
    writes.push(writer.write("ta: b"), writer.close());
    assert.deepEqual(await second, { done: false, value: ev("b", { complete: false }) });
    assert.deepEqual(await reader.read(), { done: true, value: undefined });
    await Promise.all(writes);
  });
});

Deno.test("SseDecoderStream", async (t) => {
  for (const rule of RULES) {
    await t.step(`SseDecoderStream ${rule.behaviour}, under every byte split`, async () => {
      for (const [input, expected] of rule.cases) {
        for (const chunks of splits(encode(input))) {
          assert.deepEqual(
            await runBytes(chunks),
            expected,
            `input ${JSON.stringify(input)} in ${chunks.length} chunks`,
          );
        }
      }
    });
  }

  await t.step("SseDecoderStream decodes a 4-byte character split across chunks", async () => {
    const bytes = encode("data: 😀\n\n"); // the emoji is bytes 6..9
    for (const at of [7, 8, 9]) {
      const chunks = [bytes.subarray(0, at), bytes.subarray(at)];
      assert.deepEqual(await runBytes(chunks), [ev("😀")], `split at ${at}`);
    }
  });

  await t.step("SseDecoderStream removes one UTF-8 BOM and keeps a second one", async () => {
    const bom = [0xef, 0xbb, 0xbf];
    const data = [...encode("data: x\n\n")];
    assert.deepEqual(await runBytes([new Uint8Array([...bom, ...data])]), [ev("x")]);
    assert.deepEqual(await runBytes([new Uint8Array([...bom, ...bom, ...data])]), []);
  });

  await t.step("SseDecoderStream replaces invalid and cut-off UTF-8 with U+FFFD", async () => {
    const invalid = new Uint8Array([...encode("data: "), 0xff, ...encode("\n\n")]);
    assert.deepEqual(await runBytes([invalid]), [ev("\uFFFD")]);
    const cut = encode("data: €").subarray(0, 8); // "data: " + 2 of the 3 bytes of "€"
    assert.deepEqual(await runBytes([cut]), [ev("\uFFFD", { complete: false })]);
  });
});

Deno.test("SseLineParser", async (t) => {
  await t.step("SseLineParser push appends to the given array and returns it", () => {
    const parser = new SseLineParser();
    const out: SseEvent[] = [ev("before")];
    assert.equal(parser.push("data: a\n\ndata: b\n\n", out), out);
    assert.deepEqual(out, [ev("before"), ev("a"), ev("b")]);
    assert.deepEqual(parser.push("data: c\n"), []);
    assert.deepEqual(parser.push("\n"), [ev("c")]);
  });

  await t.step("SseLineParser end resets every buffer for the next stream", () => {
    const parser = new SseLineParser();
    assert.deepEqual(parser.push("id: 1\nevent: t\nretry: 5\ndata: a\n\nevent: u\ndata: b\r"), [
      { type: "t", data: "a", lastEventId: "1", retry: 5, complete: true },
    ]);
    assert.deepEqual(parser.end(), [ev("b", { type: "u", lastEventId: "1", complete: false })]);
    assert.deepEqual(parser.push("\uFEFF\ndata: c\n\n"), [ev("c")]);
    assert.deepEqual(parser.end(), []);
  });
});

Deno.test("looksLikeSse", async (t) => {
  await t.step("looksLikeSse accepts bodies that start with an SSE field", () => {
    const yes = [
      "data: x\n\n",
      "data:x",
      "data",
      "data\n",
      "data\r\n",
      "event: ping\n",
      "id: 1\n",
      "id\n",
      "retry: 10\n",
      "\uFEFFdata: x",
      ": keepalive\n\ndata: x",
      "\r\n\r\n:ok\r\nevent: a",
    ];
    for (const text of yes) assert.equal(looksLikeSse(text), true, JSON.stringify(text));
  });

  await t.step("looksLikeSse rejects JSON, empty, comment-only and other text", () => {
    const no = [
      '{"data": 1}',
      "[]",
      "",
      "\uFEFF",
      "\n\n",
      ": only a comment\n\n",
      "Data: x",
      "data : x",
      " data: x",
      "datax: 1",
      "retryx",
      "foo: bar\ndata: x",
      "<!doctype html>",
      "hello",
      "\uFEFF\uFEFFdata: x",
    ];
    for (const text of no) assert.equal(looksLikeSse(text), false, JSON.stringify(text));
  });
});

Deno.test("eventJson parses each event's data once", async (t) => {
  const { eventJson } = await import("../lib/sse.ts");
  await t.step("JSON values, leading whitespace, sentinels and broken JSON", () => {
    const cases: [string, unknown][] = [
      ['{"a":1}', { a: 1 }],
      [' \t{"a":1}', { a: 1 }],
      ["[1]", [1]],
      ["true", true],
      ["null", null],
      ["-1.5", -1.5],
      ['"s"', "s"],
      ["[DONE]", undefined],
      ["{broken", undefined],
      ["", undefined],
    ];
    for (const [data, want] of cases) {
      const ev = { type: "message", data, lastEventId: "", complete: true };
      assert.deepEqual(eventJson(ev), want, data);
      assert.ok("json" in ev, "memo kept on the event");
    }
  });
  await t.step("the memo is used: data changed after the first call is not re-parsed", () => {
    const ev = { type: "message", data: '{"a":1}', lastEventId: "", complete: true };
    const first = eventJson(ev);
    ev.data = '{"a":2}';
    assert.equal(eventJson(ev), first);
  });
});
