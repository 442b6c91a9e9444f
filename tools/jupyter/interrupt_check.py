"""Interrupts a long-running cell of the prunelab kernel through the Jupyter client and checks that the
kernel still works afterwards. Prints one JSON object with what it saw; the kernel tests assert on it.

    .venv-jupyter/bin/python tools/jupyter/interrupt_check.py [--long CODE] [--after CODE]

Steps: start the kernel (KernelManager, kernel "prunelab" found through JUPYTER_PATH), define a model, run the
long cell until its progress bar has been displayed, KernelManager.interrupt_kernel(), collect the long
cell's reply, then run the follow-up cell and collect its reply and result.
"""
import argparse
import json
import time

from jupyter_client.manager import KernelManager

SETUP = 'var m = load("smollm2-135m");'
LONG = 'perplexity(m, "brown", 128, 0)'
AFTER = 'm.label() + " " + (1 + 1)'


def run(kc, code, on_output=None, timeout=600):
    """Executes code; returns (reply content, outputs) after the kernel goes idle."""
    msg_id = kc.execute(code)
    outputs = []
    deadline = time.time() + timeout
    while True:
        msg = kc.get_iopub_msg(timeout=max(1, deadline - time.time()))
        if msg["parent_header"].get("msg_id") != msg_id:
            continue
        kind = msg["msg_type"]
        if kind in ("execute_result", "display_data", "update_display_data", "error", "stream"):
            outputs.append({"type": kind, "content": msg["content"]})
            if on_output:
                on_output(kind)
        if kind == "status" and msg["content"]["execution_state"] == "idle":
            break
    reply = kc.get_shell_msg(timeout=60)
    while reply["parent_header"].get("msg_id") != msg_id:
        reply = kc.get_shell_msg(timeout=60)
    return reply["content"], outputs


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--long", default=LONG)
    ap.add_argument("--after", default=AFTER)
    args = ap.parse_args()
    km = KernelManager(kernel_name="prunelab")
    km.start_kernel()
    result = {}
    try:
        kc = km.client()
        kc.start_channels()
        kc.wait_for_ready(timeout=120)
        setup_reply, _ = run(kc, SETUP)
        result["setup_status"] = setup_reply["status"]

        interrupted = {"sent": False, "at": None}
        start = time.time()

        def interrupt_on_progress(kind):
            # Interrupt once the progress bar is showing: the work is certainly under way.
            if kind == "display_data" and not interrupted["sent"]:
                km.interrupt_kernel()
                interrupted["sent"] = True
                interrupted["at"] = time.time() - start

        long_reply, long_outputs = run(kc, args.long, on_output=interrupt_on_progress)
        result["interrupt_sent"] = interrupted["sent"]
        result["long_status"] = long_reply["status"]
        result["long_ename"] = long_reply.get("ename")
        result["long_evalue"] = long_reply.get("evalue")
        result["long_seconds_after_interrupt"] = (time.time() - start) - (interrupted["at"] or 0)
        result["long_output_types"] = [o["type"] for o in long_outputs]

        after_reply, after_outputs = run(kc, args.after)
        result["after_status"] = after_reply["status"]
        result["after_result"] = next((o["content"]["data"].get("text/plain") for o in after_outputs
                                       if o["type"] == "execute_result"), None)
        kc.stop_channels()
    finally:
        km.shutdown_kernel(now=True)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
