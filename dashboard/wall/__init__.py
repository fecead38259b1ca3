"""The wall display (智慧大屏) at route "/": layout (no data) and live callbacks."""
