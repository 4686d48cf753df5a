"""Store a conversation, ask for its context in o200k_base tokens, and follow its live stream.

    python examples/conversation.py [BASE_URL]     (a server with AUTH_MODE=none, e.g. scripts/run)
"""

import sys
import threading

from researchstore import Client

base_url = sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:8080"

with Client(base_url, user_id="alice") as client:
    session = client.create_session("Solar storage", metadata={"topic": "energy"})
    client.store_messages(session["id"], [
        {"role": "system", "content": "You are a careful research assistant."},
        {"role": "user", "content": "What limits grid-scale battery storage today?"},
        {"role": "assistant", "content": "Mostly cost per kWh, cycle life and supply chains."},
    ], expected_seq=1)

    context = client.get_context(session["id"], encoding="o200k_base", max_tokens=1000)
    print(f"context: {len(context['messages'])} messages, {context['token_count']} o200k_base tokens")

    # Another agent writes while we follow the stream (it resumes by itself if the connection drops).
    other = threading.Timer(0.5, client.store_message, (session["id"], "user", "And flow batteries?"))
    other.start()
    for event in client.stream_session(session["id"]):
        if event.event == "message":
            print(f"#{event.data['seq']} {event.data['role']}: {event.data['content']}")
            if event.data["seq"] == 4:
                client.delete_session(session["id"])
        else:
            print(f"[{event.event}]")  # `deleted` ends the stream
    other.join()
