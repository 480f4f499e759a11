/**
 * Runs a command as a child in its own process group's foreground job and writes the child's
 * exit status to a file: tmux 3.3a now and then marks a pane dead without its status, so the
 * Ctrl+C test reads the status from here. Usage: `exit_status.ts STATUS_FILE -- ARGV...`.
 * A terminal's Ctrl+C reaches this process too: it ignores it (a listener, not SIG_IGN, which
 * the child would inherit) and waits for the child.
 */
const [file, dashes, program, ...args] = Deno.args;
if (dashes !== "--" || !program) {
  console.error("usage: exit_status.ts STATUS_FILE -- ARGV...");
  Deno.exit(2);
}
const ignore = () => {};
for (const s of ["SIGINT", "SIGHUP"] as const) Deno.addSignalListener(s, ignore);
const status = await new Deno.Command(program, {
  args,
  stdin: "inherit",
  stdout: "inherit",
  stderr: "inherit",
}).spawn().status;
const code = status.signal ? `signal ${status.signal}` : String(status.code);
Deno.writeTextFileSync(file, code + "\n");
Deno.exit(status.code);
