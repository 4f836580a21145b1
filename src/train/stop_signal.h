#pragma once
// SIGINT / SIGTERM ask the trainer to stop after the current step (it then writes a checkpoint and
// exits cleanly). A second signal of the same kind terminates at once, as without the handler.
namespace loom::stop_signal {

void install();       // idempotent
bool requested();     // true once a signal arrived
int signal_number();  // the signal that arrived (0 if none)
void reset();         // forget a past request (tests; a second training in one process)

}  // namespace loom::stop_signal
