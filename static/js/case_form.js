// Case form: a new transfer is known to operate on its transfer date, so "last verified on"
// follows the transfer date until the user types a date of their own.
(function () {
  var transfer = document.getElementById("transfer_date");
  var verified = document.getElementById("last_verified_on");
  if (!transfer || !verified) { return; }
  var follows = !verified.value || verified.value === transfer.value;
  verified.addEventListener("input", function () { follows = verified.value === transfer.value; });
  transfer.addEventListener("change", function () {
    if (follows && transfer.value) { verified.value = transfer.value; }
  });
})();
