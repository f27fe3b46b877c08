"""Sample articles for the offline demo, written for newsmon (fictional outlets, invented events).

Two outlets: the Kyiv Ledger (RSS 2.0) and Baltic Wire (Atom 1.0). Among them: articles with and
without each default topic, a trap for naive matching ("Senator Donato"), a republished copy of
seed 000 (its text is read from the seeds folder at start-up), a wire story syndicated by both
outlets, an event each outlet wrote up in its own words (grouped as one story), a ceasefire
story on the same day as the Geneva talks that is another event (kept apart), and an article
whose page is gone so the feed's own summary must be used.
"""

LEDGER = "Kyiv Ledger"
WIRE = "Baltic Wire"

# slug -> the lead image its feed item carries (media:thumbnail): public Wikimedia Commons files,
# which the reader's browser loads when the digest is opened (newsmon never fetches an image).
COMMONS = "https://commons.wikimedia.org/wiki/Special:FilePath/{}?width=480"
IMAGES: dict[str, str] = {
    "nato-air-defence-pledge": COMMONS.format("Flag_of_NATO.svg"),
    "geneva-ceasefire-talks": COMMONS.format("Flag_of_Switzerland.svg"),
    "odesa-grain-exports": COMMONS.format("Flag_of_Ukraine.svg"),
    "baltic-air-policing": COMMONS.format("Flag_of_Estonia.svg"),
}

# slug -> (outlet, title, published, paragraphs). An empty paragraph list means the page 404s.
ARTICLES: dict[str, tuple[str, str, str, list[str]]] = {
    "nato-air-defence-pledge": (LEDGER, "Allies pledge new air-defence systems at NATO meeting",
        "2026-11-23T06:10:00Z", [
        "Defence ministers meeting at NATO headquarters in Brussels pledged four additional "
        "air-defence systems for Ukraine on Monday, along with interceptor missiles to keep the "
        "existing batteries supplied through the winter.",
        "The alliance's secretary general said the package was the largest single commitment since "
        "the spring and that deliveries would begin within weeks. Officials declined to say which "
        "member states would supply the launchers, citing security concerns.",
        "Ukrainian officials have asked for months for more protection against drone and missile "
        "attacks on power stations and substations, which left millions of households without "
        "electricity for hours at a time last winter.",
        "Several ministers also discussed joint production of interceptors in Europe, a step the "
        "defence industry says would shorten delivery times by a year or more.",
    ]),
    "geneva-ceasefire-talks": (LEDGER, "Negotiators meet in Geneva to discuss a ceasefire framework",
        "2026-11-23T07:45:00Z", [
        "Delegations met in Geneva on Monday for a second round of talks on a possible ceasefire, "
        "according to two diplomats familiar with the schedule who spoke on condition of anonymity.",
        "The talks focused on how a cease-fire line would be monitored and who would supervise it. "
        "One proposal under discussion would place international observers along the front, "
        "while another relies on satellite monitoring and a joint commission.",
        "The question of territory remains the hardest. Kyiv has repeatedly said it will not "
        "recognise any occupied territories as Russian, and diplomats described the positions of "
        "the two sides as far apart.",
        "A third round is expected before the end of the year, the diplomats said, although no "
        "date has been set and neither delegation commented publicly after the meeting.",
    ]),
    "odesa-grain-exports": (LEDGER, "Grain exports through Odesa ports reach a two-year high",
        "2026-11-22T15:20:00Z", [
        "Grain shipments from the ports of Greater Odesa reached their highest monthly volume in "
        "two years in October, the port authority said, as insurers returned to the Black Sea route.",
        "Wheat and maize made up most of the cargo, with sunflower oil and barley accounting for "
        "the rest. Traders said the lower insurance premiums had brought back shipowners who had "
        "avoided the corridor since the summer.",
        "Farmers in the south still face high costs for fuel and fertiliser, and many fields near "
        "the front line remain mined. Agronomists estimate that clearing them will take years.",
        "The port authority said it expected volumes to stay high through December if the weather "
        "allowed ships to keep to their schedules.",
    ]),
    "grid-repairs-winter": (LEDGER, "Engineers race to repair the power grid before the first frost",
        "2026-11-22T09:00:00Z", [
        "Repair crews are working around the clock to restore transformers and high-voltage lines "
        "damaged in recent strikes, the national grid operator said on Sunday.",
        "The operator said about eighty percent of the damaged equipment had been replaced or "
        "repaired, but warned that scheduled outages could return in several regions if "
        "temperatures fall below freezing for long periods.",
        "Municipalities have installed generators at schools and hospitals and opened heated "
        "shelters where residents can charge phones and get hot drinks during blackouts.",
        "Energy companies in neighbouring countries have sent spare parts and crews, and the "
        "operator said imports of electricity from the European grid were running near their limit.",
    ]),
    "zelensky-nato-umbrella-interview": (LEDGER, "Zelensky open to compromise under a NATO umbrella",
        "2026-11-23T05:30:00Z", []),   # body: seed 000, republished (filled in by the demo)
    "prisoner-exchange": (LEDGER, "Dozens of prisoners of war return home in a new exchange",
        "2026-11-21T18:00:00Z", [
        "Ninety-three Ukrainian soldiers returned home on Friday in an exchange of prisoners of war "
        "mediated by the United Arab Emirates, the coordination headquarters said.",
        "Many of the men had been held for more than two years. Relatives waited at the border "
        "crossing with flags and photographs of those still missing.",
        "Mediators said talks on further exchanges would continue, and that a short local truce "
        "had been agreed around the crossing point to allow the buses to pass safely.",
        "Human-rights monitors have repeatedly called for access to all places where prisoners "
        "of war are held, as required by the Geneva Conventions.",
    ]),
    "border-villages-return": (LEDGER, "Residents return to villages near the northern border",
        "2026-11-23T08:15:00Z", []),   # page gone: the feed's summary is all there is
    "baltic-air-policing": (WIRE, "Nato jets scramble twice over the Baltic in one week",
        "2026-11-23T04:00:00Z", [
        "Fighter jets on Nato's Baltic air-policing mission were scrambled twice this week to "
        "identify aircraft flying without transponders near Estonian airspace, the Estonian "
        "defence forces said.",
        "The aircraft did not enter Estonian airspace, officials said, but flew close enough to "
        "the border to require an escort. Such intercepts happen several times a month.",
        "Estonia, Latvia and Lithuania have no fighter jets of their own and rely on allies who "
        "rotate through bases in Lithuania and Estonia every few months.",
        "The current rotation includes aircraft from Italy and Portugal, and will hand over to a "
        "new contingent in the spring.",
    ]),
    "occupied-territories-schools": (WIRE, "Families in occupied territories face pressure over schooling",
        "2026-11-22T12:30:00Z", [
        "Parents in the occupied territories of southern Ukraine say they are under growing pressure "
        "to enrol their children in schools that follow the Russian curriculum, according to a "
        "report by a Ukrainian human-rights group.",
        "The report, based on interviews with more than sixty families, describes home visits by "
        "officials and threats to withhold social payments from parents who keep their children in "
        "Ukrainian online classes.",
        "Ukraine's education ministry says tens of thousands of pupils in occupied areas still follow "
        "Ukrainian lessons online, often in secret and at night.",
        "International organisations have called for independent access to the region to verify "
        "the reports, which the occupation authorities deny.",
    ]),
    "senator-donato-visit": (WIRE, "Senator Donato visits Riga to discuss trade and shipping",
        "2026-11-22T10:00:00Z", [
        "Senator Maria Donato arrived in Riga on Saturday for two days of meetings on trade, "
        "shipping and port investment, the Latvian foreign ministry said.",
        "The senator, who chairs a committee on maritime commerce, is expected to visit the "
        "Freeport of Riga and meet representatives of logistics companies and the local "
        "chamber of commerce.",
        "Latvian officials hope the visit will lead to new investment in rail links between the "
        "port and the rest of the Baltic states, a project delayed for several years.",
        "The delegation also includes business leaders from the renewable-energy sector, who are "
        "looking at offshore wind projects in the Gulf of Riga.",
    ]),
    "armistice-day-history": (WIRE, "Historians revisit the armistice lines of the last century",
        "2026-11-21T08:00:00Z", [
        "A new exhibition in Vilnius looks at the armistice agreements that ended wars in Europe "
        "and Asia during the twentieth century, and at the lines they drew on the map.",
        "Curators say the exhibition asks why some armistices held for decades while others broke "
        "down within months, and what role outside guarantors played in each case.",
        "Among the documents on display are maps annotated by negotiators, photographs of "
        "signing ceremonies and letters from soldiers describing the first quiet night.",
        "The exhibition runs until March and will travel to Warsaw and Tallinn next year.",
    ]),
    "brussels-air-defence": (WIRE, "NATO ministers promise Kyiv four more systems to shield its grid",
        "2026-11-23T07:05:00Z", [
        "BRUSSELS (Baltic Wire) — Ukraine will receive four more air-defence systems and a fresh "
        "supply of interceptors, NATO defence ministers agreed in Brussels on Monday.",
        "Diplomats described the commitment as the biggest since spring. Which allies will send the "
        "launchers was not disclosed; the secretary general said only that the first would arrive "
        "before the new year.",
        "Kyiv's request was driven by last winter's blackouts, when drones and missiles knocked out "
        "substations across the country and cut heating in several cities.",
        "Ministers also weighed building interceptors in European factories to cut waiting times.",
    ]),
    "zaporizhzhia-local-truce": (WIRE, "Local truce lets engineers reach the Zaporizhzhia plant's power line",
        "2026-11-23T08:40:00Z", [
        "A local ceasefire held for six hours on Monday around the Zaporizhzhia nuclear power plant, "
        "letting repair crews reach a damaged high-voltage line near Enerhodar, the plant's "
        "operator said.",
        "The truce was arranged through the international atomic energy agency, whose inspectors "
        "accompanied the engineers. The line is one of two that keep the plant's cooling systems "
        "supplied with outside power.",
        "Shelling resumed in the area in the evening, local officials said. Nobody was hurt.",
    ]),
    "cyber-defence-centre": (WIRE, "NATO cyber centre in Tallinn trains teams to defend power grids",
        "2026-11-23T03:20:00Z", [
        "The NATO cyber-defence centre in Tallinn held its largest exercise of the year this week, "
        "with teams from thirty countries defending a simulated power grid against attack.",
        "Organisers said the scenario was built on lessons from attacks on Ukraine's energy "
        "system, where hackers have tried to cut electricity to whole regions.",
        "Teams had to keep the grid running while restoring control systems and sharing "
        "information with allies, all within the national territory of an invented country.",
        "The winning team came from Finland, the centre said, with Lithuania and Germany close "
        "behind.",
    ]),
}

# The wire story that both outlets carry: Baltic Wire republishes the Ledger's Geneva report with
# its own dateline, one sentence reworded and a syndication footer.
SYNDICATED = {"slug": "geneva-ceasefire-talks", "copy_slug": "geneva-talks-syndicated",
              "outlet": WIRE, "published": "2026-11-23T09:05:00Z",
              "dateline": "GENEVA (Baltic Wire) — ",
              "reworded": ("A third round is expected before the end of the year, the diplomats said, "
                           "although no date has been set and neither delegation commented publicly "
                           "after the meeting.",
                           "The diplomats expect a third round before the year is out, but no date "
                           "has been fixed and both delegations stayed silent after the meeting."),
              "footer": "This article was syndicated from the Kyiv Ledger under a content-sharing agreement."}

# The summary the Ledger's feed carries for the article whose page is gone.
GONE_SUMMARY = ("Residents have begun returning to villages near the northern border after months "
                "of shelling. Local officials say the territorial defence units that stayed behind "
                "helped repair roofs, wells and the road to the district centre before winter.")
