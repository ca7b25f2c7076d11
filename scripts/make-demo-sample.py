#!/usr/bin/env python3
"""Write the small incident sample that `make demo` replays (tests/data/demo/).

Real export shapes, invented people and documentation address ranges: an
employee seconded to a Vietnam subsidiary signs in from Hanoi for a week; a
leaked password lets an attacker in from the US, who sends phishing mail with
the victim's own display name as the recipients' names, without saving it to
Sent Items, hides replies with an inbox rule, and after the password reset
keeps failing to sign in. Deterministic: no randomness, fixed times.
Run from the repository root: python3 scripts/make-demo-sample.py
"""
import csv
import gzip
import io
import json
from datetime import datetime, timedelta, timezone

OUT = "tests/data/demo"
VICTIM = "an.nguyen@contoso.example"
VICTIM_NAME = "Nguyen Van An"
HOME_IP = "203.0.113.24"      # Hanoi office egress (documentation range)
ATTACKER_IP = "198.51.100.7"  # US hosting (documentation range)
T0 = datetime(2025, 8, 18, 1, 30, tzinfo=timezone.utc)


def iso(t, frac=7):
    s = t.strftime("%Y-%m-%dT%H:%M:%S")
    return s + "." + "0" * frac + "Z" if frac else s + "Z"


def signin(t, n, ip, city, country, lat, lon, code, app="Browser"):
    return {
        "time": iso(t, 0), "category": "SignInLogs", "operationName": "Sign-in activity",
        "resultType": str(code), "callerIpAddress": ip,
        "properties": {
            "id": "5f1c0000-0000-4000-8000-%012d" % n,
            "createdDateTime": iso(t), "userPrincipalName": VICTIM,
            "userDisplayName": VICTIM_NAME, "ipAddress": ip, "clientAppUsed": app,
            "appDisplayName": "Office 365 Exchange Online", "isInteractive": True,
            "status": {"errorCode": code},
            "location": {"city": city, "countryOrRegion": country,
                         "geoCoordinates": {"latitude": lat, "longitude": lon}},
        },
    }


def ual(t, n, op, workload, record_type, **fields):
    rec = {"CreationTime": t.strftime("%Y-%m-%dT%H:%M:%S"),
           "Id": "a7d30000-0000-4000-8000-%012d" % n, "Operation": op,
           "OrganizationId": "4b2a0000-0000-4000-8000-000000000001",
           "RecordType": record_type, "ResultStatus": "Succeeded", "UserKey": "10037FFE8A1B2C3D",
           "UserType": 0, "Version": 1, "Workload": workload, "UserId": VICTIM}
    rec.update(fields)
    return rec


def main():
    signins = []
    n = 0
    # A week of ordinary mornings in Hanoi.
    for day in range(7):
        for k in range(2):
            n += 1
            t = T0 + timedelta(days=day, hours=4 * k)
            signins.append(signin(t, n, HOME_IP, "Hanoi", "VN", 21.0285, 105.8542, 0))
    takeover = T0 + timedelta(days=7, hours=12)
    # The victim's own sign-in from Hanoi three hours before the attacker's.
    n += 1
    signins.append(signin(takeover - timedelta(hours=3), n, HOME_IP, "Hanoi", "VN", 21.0285,
                          105.8542, 0))
    n += 1
    signins.append(signin(takeover, n, ATTACKER_IP, "Ashburn", "US", 39.0438, -77.4874, 0,
                          app="Authenticated SMTP"))
    reset = takeover + timedelta(hours=5)
    for k in range(12):
        n += 1
        signins.append(signin(reset + timedelta(seconds=30 * k), n, ATTACKER_IP, "Ashburn", "US",
                              39.0438, -77.4874, 50126, app="Authenticated SMTP"))
    with open(f"{OUT}/signins.jsonl", "w") as f:
        for r in signins:
            f.write(json.dumps(r) + "\n")

    # Mailbox audit as a Management Activity API content blob (a JSON array).
    mail = []
    m = 0
    for k in range(30):
        m += 1
        t = takeover + timedelta(minutes=10, seconds=20 * k)
        rcpts = [{"Address": "contact%03d@partner%d.example" % (10 * k + j, j % 4),
                  "Name": VICTIM_NAME} for j in range(10)]
        mail.append(ual(t, m, "Send", "Exchange", 2, ClientIP=ATTACKER_IP + ":50312",
                        ClientInfoString="Client=REST;Client=RESTSystem;;",
                        LogonUserDisplayName=VICTIM_NAME, MailboxOwnerUPN=VICTIM,
                        SaveToSentItems=False, recipientCount=len(rcpts), recipientList=rcpts,
                        Item={"Id": "RgAAAAB%05d" % k, "Subject": "Invoice documents",
                              "ParentFolder": {"Path": "\\Drafts"}}))
    m += 1
    mail.append(ual(takeover + timedelta(minutes=25), m, "New-InboxRule", "Exchange", 1,
                    ClientIP=ATTACKER_IP, ObjectId=VICTIM + "\\hide",
                    Parameters=[{"Name": "Name", "Value": "."},
                                {"Name": "SubjectOrBodyContainsWords", "Value": "invoice"},
                                {"Name": "MoveToFolder", "Value": "RSS Feeds"},
                                {"Name": "MarkAsRead", "Value": "True"}]))
    m += 1
    mail.append(ual(takeover + timedelta(minutes=30), m, "HardDelete", "Exchange", 3,
                    ClientIP=ATTACKER_IP, ClientInfoString="Client=REST;;",
                    Folder={"Path": "\\Sent Items"},
                    AffectedItems=[{"Subject": "Invoice documents",
                                    "ParentFolder": {"Path": "\\Sent Items"}}]))
    with open(f"{OUT}/mailbox-audit.json", "w") as f:
        json.dump(mail, f, indent=1)

    # Message trace rows for the first sends, gzip-compressed as archived.
    rows = []
    for k in range(10):
        t = takeover + timedelta(minutes=10, seconds=20 * k)
        for j in range(10):
            rows.append({"Received": t.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z",
                         "SenderAddress": VICTIM,
                         "RecipientAddress": "contact%03d@partner%d.example" % (10 * k + j, j % 4),
                         "Subject": "Invoice documents", "Status": "Delivered",
                         "FromIP": ATTACKER_IP, "ToIP": "",
                         "MessageTraceId": "9c1e0000-0000-4000-8000-%012d" % k,
                         "MessageId": "<%d.invoice@contoso.example>" % k, "Size": 48211})
    raw = "".join(json.dumps(r) + "\n" for r in rows).encode()
    with open(f"{OUT}/message-trace.jsonl.gz", "wb") as f:
        f.write(gzip.compress(raw, mtime=0))

    # Two records from a Purview audit search export (CSV), one re-delivered.
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\r\n")
    w.writerow(["CreationDate", "UserIds", "Operations", "AuditData"])
    login = ual(takeover - timedelta(minutes=1), 900, "UserLoggedIn", "AzureActiveDirectory", 15,
                ClientIP=ATTACKER_IP, ResultStatus="Success",
                ExtendedProperties=[{"Name": "UserAgent", "Value": "python-requests/2.31"}])
    for r in (login, login):
        w.writerow([r["CreationTime"], VICTIM, r["Operation"], json.dumps(r)])
    with open(f"{OUT}/purview-export.csv", "w", newline="") as f:
        f.write("\ufeff" + out.getvalue())


if __name__ == "__main__":
    main()
