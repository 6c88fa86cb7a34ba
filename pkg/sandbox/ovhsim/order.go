package ovhsim

import (
	"fmt"
	"math"
	"net/http"
	"sort"
	"strings"
)

// The Public Cloud catalog (GET /order/catalog/public/cloud), public as on
// OVHcloud: no signature is asked. It has the real document's shape
// (order.catalog.public.Catalog: a locale, the project plan and its
// add-ons, each with pricings in hundred-millionths of the currency) for
// what the catalog of the tool knows: instance flavors billed by the hour
// and by the month, database nodes by engine, plan and flavor, and
// standard object storage per GiB and hour. The prices are the sandbox's
// own, invented from each flavor's size so that a cost can be rehearsed
// offline: never OVHcloud's (docs/sandbox.md says so).

// sandboxHourly is an instance's invented price per hour, in hundred-
// millionths of a dollar: 0.6¢ a vCPU and 0.35¢ a GB of memory.
func sandboxHourly(vcpu int, ramGB float64) int64 {
	return int64(math.Round((0.006*float64(vcpu) + 0.0035*ramGB) * 1e8))
}

// sandboxStorageHourly is a GiB of standard object storage for an hour:
// about 1.1¢ a month.
const sandboxStorageHourly = 1500

func (s *Server) publicCloudCatalog(w http.ResponseWriter, r *http.Request) {
	if sub := r.URL.Query().Get("ovhSubsidiary"); sub != "CA" {
		// The Canadian API answers for its own subsidiaries; the sandbox
		// plays only the CAD one.
		s.badRequest(w, "Invalid subsidiary %q: the sandbox serves ovhSubsidiary=CA", sub)
		return
	}
	addons := map[string]map[string]any{}
	family := map[string][]string{}
	add := func(fam, code, invoice, product string, price int64, unit string, regions []string) {
		if _, dup := addons[code]; !dup {
			family[fam] = append(family[fam], code)
			addons[code] = addonJSON(code, invoice, product, price, unit)
		}
		cfg := addons[code]["configurations"].([]map[string]any)[0]
		cfg["values"] = append(cfg["values"].([]string), regions...)
	}
	for _, reg := range s.operator().Regions {
		regions := []string{reg.Code}
		for _, f := range reg.Flavors {
			hourly := sandboxHourly(f.VCPU, f.RAMGB)
			add("instance", f.Name+".consumption", f.Name, "publiccloud-instance", hourly, "hour", regions)
			// Monthly billing costs half of a month by the hour.
			add("instance", f.Name+".monthly.postpaid", f.Name, "publiccloud-instance", hourly*730/2, "month", regions)
		}
		for _, db := range reg.Databases {
			for _, plan := range db.Plans {
				for _, f := range plan.Flavors {
					code := "databases." + db.Engine + "-" + plan.Name + "-" + f.Name
					hourly := sandboxHourly(f.VCPU, f.RAMGB) * 3 / 2
					add("databases", code+".hour.consumption", code, "publiccloud-databases-"+db.Engine, hourly, "hour", regions)
					add("databases", code+".month.consumption", code, "publiccloud-databases-"+db.Engine, hourly*730*9/10, "month", regions)
				}
			}
		}
		if reg.ObjectStorage != nil {
			add("storage", "storage-standard.consumption", "storage-standard", "publiccloud-storage", sandboxStorageHourly, "hour", regions)
		}
	}
	var families []map[string]any
	var codes []string
	for name, list := range family {
		families = append(families, map[string]any{"name": name, "addons": list, "default": nil, "exclusive": false, "mandatory": false})
	}
	sort.Slice(families, func(i, j int) bool { return families[i]["name"].(string) < families[j]["name"].(string) })
	for code := range addons {
		codes = append(codes, code)
	}
	sort.Strings(codes)
	list := make([]map[string]any, 0, len(codes))
	for _, c := range codes {
		list = append(list, addons[c])
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"catalogId": 1,
		"locale":    map[string]any{"currencyCode": "CAD", "subsidiary": "CA", "taxRate": 0},
		"plans": []map[string]any{{
			"planCode": "project.2018", "product": "cloud", "invoiceName": "Public Cloud Project", "pricingType": "consumption",
			"addonFamilies": families, "configurations": []any{}, "consumptionConfiguration": nil, "family": nil,
			"blobs":    nil,
			"pricings": []map[string]any{pricingJSON(0, "month", []string{"installation", "renew"})},
		}},
		"addons": list, "products": []any{}, "planFamilies": []any{},
	})
}

func addonJSON(code, invoice, product string, price int64, unit string) map[string]any {
	capacity := "consumption"
	if unit == "month" && strings.HasSuffix(code, ".monthly.postpaid") {
		capacity = "renew"
	}
	return map[string]any{
		"planCode": code, "invoiceName": invoice, "product": product, "pricingType": "consumption",
		"consumptionConfiguration": nil, "family": nil, "addonFamilies": []any{},
		"configurations": []map[string]any{{"name": "region", "isCustom": false, "isMandatory": false, "values": []string{}}},
		"blobs":          map[string]any{"commercial": map[string]any{"name": invoice}, "technical": map[string]any{"name": invoice}},
		"pricings":       []map[string]any{pricingJSON(price, unit, []string{capacity})},
	}
}

func pricingJSON(price int64, unit string, capacities []string) map[string]any {
	return map[string]any{
		"capacities": capacities, "commitment": 0, "description": "Price per " + unit, "engagementConfiguration": nil,
		"formattedPrice": fmt.Sprintf("$%.5f CAD", float64(price)/1e8), "interval": 1, "intervalUnit": unit,
		"mode": "default", "mustBeCompleted": false, "phase": 1, "price": price, "promotions": []any{},
		"quantity": map[string]any{"max": nil, "min": 1}, "repeat": map[string]any{"max": nil, "min": 1},
		"strategy": "tiered", "tax": 0, "type": "consumption",
	}
}
